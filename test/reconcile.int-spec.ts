import { loadEnv } from '@unstuck/config';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { ChainSimAdmin, startBuiltApp, untilReady, waitFor, writeChainsFile, type ServiceProcess } from '@unstuck/testing';

/**
 * Packets stuck before ingest started, found from chain state: chain-sim sends transfers no relayer delivers (and
 * some received whose acknowledgement nobody brings back), then packet-ingest starts at a later height — it never
 * reads those blocks — and its reconciler finds them from PacketCommitments and UnreceivedPackets, and records them
 * from their transactions as ingest would have.
 */
const SIM_ADMIN = 'http://127.0.0.1:19700';
const SIM_PORTS = [19757, 19767, 19777];
const CHAINS = ['cosmoshub-4', 'osmosis-1', 'neutron-1'];

describe('reconciliation: packets stuck before ingest started (chain-sim, built packet-ingest, real servers)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const processes: ServiceProcess[] = [];
  const sim = new ChainSimAdmin(SIM_ADMIN);
  const sent: Array<{ sequence: string; tx_hash: string; fate: string }> = [];
  const rowOf = async (sequence: string) =>
    (
      await db.query<{ status: string; send_tx_hash: string | null; send_height: string; sender: string; recv_tx_hash: string | null }>(
        `SELECT status, send_tx_hash, send_height::text AS send_height, sender, recv_tx_hash FROM packet_flow WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND sequence = $1`,
        [sequence],
      )
    )[0];

  beforeAll(async () => {
    await db.start();
    processes.push(startBuiltApp('chain-sim', { CHAIN_SIM_RPC_BASE_PORT: String(SIM_PORTS[0]), CHAIN_SIM_ADMIN_PORT: '19700', CHAIN_SIM_BLOCK_MS: '200', CHAIN_SIM_TRANSFERS_PER_BLOCK: '1' }));
    await sim.waitUntilUp();
    for (const fate of ['awaiting_recv', 'awaiting_recv', 'awaiting_ack']) {
      const t = await sim.call<{ sequence: string; tx_hash: string }>('/transfer', { src_chain_id: 'cosmoshub-4', src_channel: 'channel-141', fate });
      sent.push({ sequence: String(t.sequence), tx_hash: t.tx_hash, fate });
    }
    // A few blocks later (the receipt of the awaiting_ack one lands meanwhile), ingest starts above all of them.
    await new Promise((r) => setTimeout(r, 2_000));
    const heads = await Promise.all(SIM_PORTS.map(async (port) => Number(((await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as any).result.sync_info.latest_block_height)));
    const chainsFile = writeChainsFile(CHAINS.map((id, i) => ({ chain_id: id, port: SIM_PORTS[i]!, start_height: heads[i]! + 1 })));
    // A fresh deployment: no cursor from an earlier run, so ingest starts at start_height (above the sends).
    await db.query(`DELETE FROM ingest_cursors WHERE chain_id = ANY($1::text[])`, [CHAINS]);
    processes.push(startBuiltApp('packet-ingest', { INGEST_PORT: '23452', CHAINS_FILE: chainsFile, INGEST_POLL_INTERVAL_MS: '200', INGEST_RECONCILE_SECONDS: '2', INGEST_RECONCILE_REPAIR_AFTER_SECONDS: '30' }));
    processes.push(startBuiltApp('api-gateway', { GATEWAY_PORT: '23450' }));
    await untilReady(['http://127.0.0.1:23452/health/ready', 'http://127.0.0.1:23450/health/ready'], processes);
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await db.stop();
  });

  it('finds the pending packets ingest never read, records them from their transactions as ingest would, once', async () => {
    const [lost, lost2, unacked] = sent as [(typeof sent)[0], (typeof sent)[0], (typeof sent)[0]];
    await waitFor(async () => (await rowOf(lost.sequence)) !== undefined && (await rowOf(lost2.sequence)) !== undefined && (await rowOf(unacked.sequence))?.status === 'received', 30_000, 250);
    // The send as ingest records it: its transaction, its height (below ingest's start), its sender.
    expect(await rowOf(lost.sequence)).toMatchObject({ status: 'sent', send_tx_hash: lost.tx_hash, recv_tx_hash: null });
    const cursor = (await db.query<{ height: string }>(`SELECT height::text AS height FROM ingest_cursors WHERE chain_id = 'cosmoshub-4'`))[0]!;
    expect(Number((await rowOf(lost.sequence))!.send_height)).toBeLessThan(Number(cursor.height));
    // Received on osmosis-1 with its acknowledgement never relayed back: the receipt is recorded too.
    expect(await rowOf(unacked.sequence)).toMatchObject({ status: 'received', send_tx_hash: unacked.tx_hash, recv_tx_hash: expect.stringMatching(/^[0-9A-F]{64}$/) });

    // More passes change nothing: the same events (same message ids) are not stored or counted twice.
    const metrics = async () => (await (await fetch('http://127.0.0.1:23452/metrics')).text()).split('\n');
    const backfilled = async () => (await metrics()).filter((l) => l.startsWith('reconcile_backfilled_total{chain_id="cosmoshub-4"}')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    const before = await backfilled();
    const passes = async () => (await metrics()).filter((l) => l.startsWith('reconcile_passes_total')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    const passed = await passes();
    await waitFor(async () => (await passes()) >= passed + 2, 15_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}\n${processes[1]!.output().slice(-4000)}`);
    });
    expect(await backfilled()).toBe(before);
    const keys = await db.query(`SELECT 1 FROM packet_keys WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND sequence = ANY($1::bigint[])`, [sent.map((s) => s.sequence)]);
    expect(keys).toHaveLength(3);
    // The backlog the chain reports, per channel, as Hermes' telemetry does.
    expect((await metrics()).filter((l) => l.startsWith('reconcile_backlog_size{chain_id="cosmoshub-4",channel="channel-141"'))).toEqual([expect.stringMatching(/\} [1-9][0-9]*$/)]);
  }, 60_000);

  it("answers a channel's pending view from the chains' own state: state, ordering, clients, unreceived and unacknowledged", async () => {
    const view = await waitFor(async () => {
      const res = await fetch('http://127.0.0.1:23450/api/v1/channels/cosmoshub-4/channel-141/pending');
      return res.status === 200 ? ((await res.json()) as any) : false;
    }, 20_000, 250);
    expect(view).toMatchObject({
      chain_id: 'cosmoshub-4',
      channel: 'channel-141',
      counterparty: { chain_id: 'osmosis-1', channel: expect.stringMatching(/^channel-\d+$/) },
      channel_state: 'STATE_OPEN',
      ordering: 'ORDER_UNORDERED',
      client: { id: expect.stringMatching(/^07-tendermint-/), status: 'Active' },
      counterparty_client_status: 'Active',
    });
    // The two packets no relayer delivers are among the unreceived; the one received and unacknowledged is not.
    const [lost, lost2, unacked] = sent as [(typeof sent)[0], (typeof sent)[0], (typeof sent)[0]];
    expect(view.unreceived.sequences).toEqual(expect.arrayContaining([lost.sequence, lost2.sequence]));
    expect(view.unreceived.sequences).not.toContain(unacked.sequence);
    expect(view.pending).toBe(view.unreceived.count + view.unacknowledged.count);
    expect(BigInt(view.oldest_pending_sequence)).toBeLessThanOrEqual(BigInt(lost.sequence));
    const unknown = await fetch('http://127.0.0.1:23450/api/v1/channels/cosmoshub-4/channel-999999/pending');
    expect(unknown.status).toBe(404);
  }, 60_000);

  it('repairs a packet held as pending that the chains acknowledged (a missed acknowledgement), once', async () => {
    const repaired = async () =>
      (await (await fetch('http://127.0.0.1:23452/metrics')).text())
        .split('\n')
        .filter((l) => l.startsWith('reconcile_repaired_total{chain_id="cosmoshub-4"'))
        .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
    // A packet ingest saw through to its acknowledgement...
    const [done] = await waitFor(async () => {
      const rows = await db.query<{ sequence: string; ack_tx_hash: string }>(
        `SELECT sequence::text AS sequence, ack_tx_hash FROM packet_flow WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND status = 'acknowledged' ORDER BY sequence DESC LIMIT 1`,
      );
      return rows.length ? rows : false;
    }, 30_000, 250);
    // ...as if its acknowledgement's block had been lost: held as received, sent long ago.
    await db.query(
      `UPDATE packet_flow SET status = 'received', ack_tx_hash = NULL, ack_time = NULL, ack_height = NULL, send_time = now() - interval '1 hour'
        WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND sequence = $1`,
      [done!.sequence],
    );
    const before = await repaired();
    await waitFor(async () => (await rowOf(done!.sequence))?.status === 'acknowledged', 20_000, 250);
    const [row] = await db.query<{ ack_tx_hash: string }>(`SELECT ack_tx_hash FROM packet_flow WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND sequence = $1`, [done!.sequence]);
    expect(row!.ack_tx_hash).toBe(done!.ack_tx_hash);
    expect(await repaired()).toBe(before + 1);
    // Later passes find nothing to repair for it.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(await repaired()).toBe(before + 1);
  }, 60_000);
});
