import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv } from '@unstuck/config';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { DEAD_LETTER_HEADERS, STREAMS } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import { ChainSimAdmin, packetDifferences, startBuiltApp, waitFor, writeChainsFileFromStart, type ServiceProcess, type TruthPacket } from '@unstuck/testing';

/**
 * packet-ingest against chain-sim, both from built JS, on ports of the test's own. chain-sim's ground truth
 * (every packet's state and the relayers that raced for it) is compared with what ingest committed.
 */
const ADMIN = 'http://127.0.0.1:16600';
const CHAINS = [
  { chain_id: 'cosmoshub-4', port: 16657, comet: '0.38' },
  { chain_id: 'osmosis-1', port: 16667, comet: '0.37' },
  { chain_id: 'neutron-1', port: 16677, comet: '0.34' },
];

const simAdmin = new ChainSimAdmin(ADMIN);
const admin = <T>(path: string, body?: unknown): Promise<T> => simAdmin.call<T>(path, body);

describe('packet-ingest against chain-sim (real Postgres, NATS and processes)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'ingest-test');
  const dir = mkdtempSync(join(tmpdir(), 'unstuck-ingest-'));
  const chainsFile = join(dir, 'chains.yaml');
  let sim: ServiceProcess;
  const ingest: ServiceProcess[] = [];

  const startIngest = (port: number) => {
    const p = startBuiltApp('packet-ingest', {
      INGEST_PORT: String(port),
      CHAINS_FILE: chainsFile,
      INGEST_POLL_INTERVAL_MS: '200',
      INGEST_LEASE_CHECK_MS: '500',
      INGEST_RPC_TIMEOUT_MS: '2000',
    });
    ingest.push(p);
    return p;
  };

  beforeAll(async () => {
    sim = startBuiltApp('chain-sim', {
      CHAIN_SIM_RPC_BASE_PORT: '16657',
      CHAIN_SIM_ADMIN_PORT: '16600',
      CHAIN_SIM_BLOCK_MS: '100',
      CHAIN_SIM_SEED: '7',
      CHAIN_SIM_TRANSFERS_PER_BLOCK: '3',
      CHAIN_SIM_RACE_PROBABILITY: '0.4',
    });
    await simAdmin.waitUntilUp();
    await writeChainsFileFromStart(CHAINS.map((c) => ({ chain_id: c.chain_id, port: c.port, comet_version: c.comet })), chainsFile);
    await db.start();
    await nats.get();
    startIngest(23202);
  }, 60_000);

  afterAll(async () => {
    for (const p of ingest) p.kill('SIGKILL');
    sim?.kill('SIGKILL');
    await db.stop();
    await nats.close();
  });

  const quiesce = () => simAdmin.quiesce<TruthPacket>(db, CHAINS.map((c) => c.chain_id));

  const differences = (truth: TruthPacket[]) => packetDifferences(db, truth);

  /** Messages stored per event on JetStream for our chains: exactly-once publishing is a count. */
  async function streamCounts(): Promise<Record<string, number>> {
    const { jsm } = await nats.get();
    const counts: Record<string, number> = {};
    for (const event of ['sent', 'received', 'acknowledged', 'timed_out']) {
      const info = await jsm.streams.info(STREAMS.PACKETS.name, { subjects_filter: `unstuck.packet.${event}.v1.>` });
      counts[event] = Object.entries(info.state.subjects ?? {})
        .filter(([s]) => CHAINS.some((c) => s.includes(`.${c.chain_id}.`)))
        .reduce((n, [, v]) => n + v, 0);
    }
    return counts;
  }

  const metricValue = async (port: number, name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.split(' ').pop()) : undefined;
  };

  it('commits every packet chain-sim produced, state by state, with the effected relayer and every frontrun attempt', async () => {
    await new Promise((r) => setTimeout(r, 3_000));
    const truth = await quiesce();
    expect(truth.length).toBeGreaterThan(50);
    expect(new Set(truth.map((p) => p.state))).toEqual(new Set(['sent', 'received', 'acknowledged', 'timed_out']));
    expect(truth.some((p) => p.recv_relayers.length > 1)).toBe(true);
    expect(await differences(truth)).toEqual([]);
  }, 90_000);

  it('dead-letters a malformed event with its reason and carries on with that chain', async () => {
    const { js, jsm } = await nats.get();
    const durable = `ingest-dlq-${Date.now()}`;
    await jsm.consumers.add(STREAMS.DEAD_LETTER.name, {
      durable_name: durable,
      filter_subject: 'unstuck.dlq.v1.INGEST.neutron-1',
      deliver_policy: DeliverPolicy.New,
      ack_policy: AckPolicy.Explicit,
    });
    try {
      const kinds = ['bad_hex', 'missing_sequence', 'invalid_json', 'absurd_sequence'];
      const hashes: string[] = [];
      for (const kind of kinds) hashes.push((await admin<{ tx_hash: string }>('/malformed', { chain_id: 'neutron-1', kind })).tx_hash);
      const consumer = await js.consumers.get(STREAMS.DEAD_LETTER.name, durable);
      const reasons: string[] = [];
      await waitFor(async () => {
        const batch = await consumer.fetch({ max_messages: 10, expires: 1_000 });
        for await (const m of batch) {
          const body = JSON.parse(new TextDecoder().decode(m.data)) as { txHash: string };
          if (hashes.includes(body.txHash)) reasons.push(m.headers!.get(DEAD_LETTER_HEADERS.reason));
          m.ack();
        }
        return reasons.length >= kinds.length;
      }, 15_000, 0);
      expect(reasons.sort()).toEqual(['absurd_value', 'bad_hex', 'invalid_json', 'missing_attribute']);
      // The chain was not held up: everything since is ingested.
      expect(await differences(await quiesce())).toEqual([]);
    } finally {
      await jsm.consumers.delete(STREAMS.DEAD_LETTER.name, durable);
    }
  }, 60_000);

  it('kill -9 mid-stream, restart: every packet exactly once, none lost, none duplicated', async () => {
    const before = await streamCounts();
    const truthBefore = await simAdmin.packets<TruthPacket>();
    await admin('/rate', { transfers_per_block: 6 });
    await new Promise((r) => setTimeout(r, 1_500));
    ingest[0]!.kill('SIGKILL');
    await ingest[0]!.exited;
    await new Promise((r) => setTimeout(r, 1_000));
    startIngest(23202);
    await new Promise((r) => setTimeout(r, 1_500));
    const truth = await quiesce();
    expect(await differences(truth)).toEqual([]);

    // Published exactly once: the growth of each subject count equals what chain-sim did since.
    const after = await streamCounts();
    const old = new Map(truthBefore.map((p) => [`${p.src_chain_id}/${p.src_channel}/${p.sequence}`, p]));
    const expected = { sent: 0, received: 0, acknowledged: 0, timed_out: 0 };
    for (const p of truth) {
      const o = old.get(`${p.src_chain_id}/${p.src_channel}/${p.sequence}`);
      if (!o) expected.sent += 1;
      expected.received += p.recv_relayers.length - (o?.recv_relayers.length ?? 0);
      expected.acknowledged += p.ack_relayers.length - (o?.ack_relayers.length ?? 0);
      expected.timed_out += p.timeout_relayers.length - (o?.timeout_relayers.length ?? 0);
    }
    expect({
      sent: after.sent! - before.sent!,
      received: after.received! - before.received!,
      acknowledged: after.acknowledged! - before.acknowledged!,
      timed_out: after.timed_out! - before.timed_out!,
    }).toEqual(expected);
  }, 120_000);

  it("resumes and backfills a chain whose RPC was down for 30 s, while the other chains never stopped", async () => {
    const cursor = async (chain: string) =>
      Number((await db.query<{ height: string }>(`SELECT height FROM ingest_cursors WHERE chain_id = $1`, [chain]))[0]!.height);
    await admin('/rate', { transfers_per_block: 2 });
    await admin('/chains/osmosis-1/rpc/stop', {});
    await new Promise((r) => setTimeout(r, 1_000));
    const start = { osmosis: await cursor('osmosis-1'), cosmos: await cursor('cosmoshub-4'), neutron: await cursor('neutron-1') };
    await new Promise((r) => setTimeout(r, 29_000));
    // The others kept following at ~10 blocks/s; osmosis could not move.
    expect((await cursor('cosmoshub-4')) - start.cosmos).toBeGreaterThan(200);
    expect((await cursor('neutron-1')) - start.neutron).toBeGreaterThan(200);
    expect(await cursor('osmosis-1')).toBe(start.osmosis);
    await admin('/chains/osmosis-1/rpc/start', {});
    const truth = await quiesce();
    expect(await differences(truth)).toEqual([]);
  }, 120_000);

  it('with two instances each chain is followed by exactly one; kill -9 that one and the other takes over', async () => {
    const a = ingest[ingest.length - 1]!;
    const b = startIngest(23203);
    await waitFor(async () => (await metricValue(23203, 'ingest_chains_followed')) !== undefined, 20_000, 200);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await metricValue(23202, 'ingest_chains_followed')).toBe(3);
    expect(await metricValue(23203, 'ingest_chains_followed')).toBe(0);

    await admin('/rate', { transfers_per_block: 3 });
    a.kill('SIGKILL');
    await a.exited;
    await waitFor(async () => (await metricValue(23203, 'ingest_chains_followed')) === 3, 15_000, 200);
    const truth = await quiesce();
    expect(await differences(truth)).toEqual([]);
    b.kill('SIGTERM');
    await b.exited;
  }, 120_000);
});
