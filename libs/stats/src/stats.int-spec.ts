import { loadEnv } from '@unstuck/config';
import { subjectFilter, type EventMap, type PacketId, type PacketReceivedV1, type PacketSentV1 } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { EventPublisher, JetStreamConnection, natsEnvShape, type Delivery, type OutgoingEvent } from '@unstuck/messaging';
import { metricsRegistry } from '@unstuck/observability';
import { PacketStore } from '@unstuck/packets';
import { packetSentFixture, uniqueSuffix, waitFor } from '@unstuck/testing';
import { statsEnvShape } from './env';
import { PacketStatsConsumer } from './packet-stats.consumer';
import { StatsStore } from './stats-store';
import { StuckDetector } from './stuck-detector';

const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
const env = loadEnv(statsEnvShape, { STATS_COMMIT_WAIT_MS: '300' });
const packets = new PacketStore(db);
const stats = new StatsStore(db);
const consumer = new PacketStatsConsumer(stats, env, db);
const connection = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'stats-test');
const publisher = new EventPublisher(connection, 16);
const detector = new StuckDetector(db, stats, publisher, env);

beforeAll(async () => {
  await db.start();
  await connection.get();
});
afterAll(async () => {
  await connection.close();
  await db.stop();
});

const hash = (n: number) => n.toString(16).toUpperCase().padStart(64, '0');
let seq = 0;
const deliveries = (events: OutgoingEvent[]): Delivery[] =>
  events.map((e) => ({ ...e, subject: '', deliveryCount: 1, streamSequence: ++seq, msgId: undefined, publishedAt: Date.now() }) as Delivery);

/** A packet from `src` to `dst` with two relayers racing its recv, and its ack. */
function racedLifecycle(src: string, dst: string, sequence: number) {
  const sent = packetSentFixture(src, sequence, {
    dst_chain_id: dst,
    height: '100',
    block_time: '2026-11-20T10:15:00.000Z',
    tx_hash: hash(sequence * 10),
    transfer: { denom: 'uatom', amount: '5', sender: 'cosmos1sender', receiver: 'osmo1receiver' },
  });
  const route = { dst_chain_id: dst, dst_port: 'transfer', dst_channel: sent.dst_channel, timeout_height: sent.timeout_height, timeout_timestamp_ns: sent.timeout_timestamp_ns };
  const recv = (relayer: string, effected: boolean, n: number): PacketReceivedV1 => ({
    packet: sent.packet,
    ...route,
    chain_id: dst,
    height: '200',
    block_time: '2026-11-20T10:15:40.000Z',
    tx_hash: hash(sequence * 10 + n),
    msg_index: 0,
    relayer,
    effected,
  });
  const ack: EventMap['packet.acknowledged'] = {
    packet: sent.packet,
    ...route,
    chain_id: src,
    height: '110',
    block_time: '2026-11-20T10:16:20.000Z',
    tx_hash: hash(sequence * 10 + 5),
    msg_index: 0,
    relayer: 'cosmos1acker',
    effected: true,
    ack_success: true,
  };
  return [
    { event: 'packet.sent', payload: sent },
    { event: 'packet.received', payload: recv('osmo1fast', true, 1) },
    { event: 'packet.received', payload: recv('osmo1slow', false, 2) },
    { event: 'packet.acknowledged', payload: ack },
  ] as OutgoingEvent[];
}

/** What ingest does: rows and cursors in one transaction. */
async function ingest(events: OutgoingEvent[], cursors: Array<{ chainId: string; height: string; blockTime: string }>) {
  await packets.commit(events, cursors);
}

async function statsRows(chains: string[]) {
  const network = await db.query(
    `SELECT * FROM network_stats WHERE chain_id = ANY($1) ORDER BY chain_id, date`,
    [chains],
  );
  const channel = await db.query(`SELECT * FROM channel_performance WHERE chain_id = ANY($1) ORDER BY chain_id, channel_id, hour`, [chains]);
  const relayer = await db.query(`SELECT * FROM relayer_performance WHERE chain_id = ANY($1) ORDER BY relayer_address, chain_id, date`, [chains]);
  const strip = (rows: Array<Record<string, unknown>>) => rows.map(({ updated_at: _u, ...r }) => r);
  return { network: strip(network), channel: strip(channel), relayer: strip(relayer) };
}

describe('stats aggregation (real PostgreSQL)', () => {
  it('gives the same rows when the same events are delivered twice, in any batching', async () => {
    const src = `dup-src-${uniqueSuffix()}`;
    const dst = `dup-dst-${uniqueSuffix()}`;
    const events = [1, 2, 3].flatMap((n) => racedLifecycle(src, dst, n));
    await ingest(events, [
      { chainId: src, height: '110', blockTime: '2026-11-20T10:16:20.000Z' },
      { chainId: dst, height: '200', blockTime: '2026-11-20T10:15:40.000Z' },
    ]);
    await consumer.handle(deliveries(events));
    const once = await statsRows([src, dst]);
    expect(once.network.find((r) => r.chain_id === src)).toMatchObject({ packets_sent: '3', packets_acknowledged: '3', success_rate: '100.00' });
    expect(once.network.find((r) => r.chain_id === dst)).toMatchObject({ packets_received: '3', relay_time_count: '3', avg_relay_time_ms: '40000' });

    await consumer.handle(deliveries(events));
    for (const e of [...events].reverse()) await consumer.handle(deliveries([e]));
    expect(await statsRows([src, dst])).toEqual(once);
  });

  it('attributes a race: the first relayer won, the second was frontrun by it', async () => {
    const src = `race-src-${uniqueSuffix()}`;
    const dst = `race-dst-${uniqueSuffix()}`;
    const events = racedLifecycle(src, dst, 1);
    await ingest(events, [
      { chainId: src, height: '110', blockTime: '2026-11-20T10:16:20.000Z' },
      { chainId: dst, height: '200', blockTime: '2026-11-20T10:15:40.000Z' },
    ]);
    await consumer.handle(deliveries(events));
    const rows = await db.query<Record<string, unknown>>(
      `SELECT relayer_address, packets_relayed::int, packets_effected::int, packets_frontrun::int, frontrun_by, avg_latency_ms::int,
              reputation_score FROM relayer_performance WHERE chain_id = $1 ORDER BY relayer_address`,
      [dst],
    );
    expect(rows).toEqual([
      expect.objectContaining({ relayer_address: 'osmo1fast', packets_relayed: 1, packets_effected: 1, packets_frontrun: 0, avg_latency_ms: 40_000 }),
      expect.objectContaining({ relayer_address: 'osmo1slow', packets_relayed: 1, packets_effected: 0, packets_frontrun: 1, frontrun_by: { osmo1fast: 1 } }),
    ]);
    expect(Number(rows[0]!.reputation_score)).toBeGreaterThan(Number(rows[1]!.reputation_score));
    const metrics = await metricsRegistry.getSingleMetricAsString('ibc_frontrun_counter');
    expect(metrics).toContain(`chain_id="${dst}"`);
    expect(metrics).toMatch(new RegExp(`chain_id="${dst}"[^}]*signer="osmo1slow"[^}]*frontrunned_by="osmo1fast"|frontrunned_by="osmo1fast"[^}]*chain_id="${dst}"`));
  });

  it('waits for ingest to commit a block before counting its events, and hands back what is still uncommitted', async () => {
    const src = `gate-src-${uniqueSuffix()}`;
    const [sent] = racedLifecycle(src, `gate-dst-${uniqueSuffix()}`, 1);
    // Published but not committed yet: no cursor for the chain.
    const result = await consumer.handle(deliveries([sent!]));
    expect(result && result.retryLater).toHaveLength(1);
    expect(await db.query(`SELECT 1 FROM network_stats WHERE chain_id = $1`, [src])).toHaveLength(0);
    await ingest([sent!], [{ chainId: src, height: '100', blockTime: '2026-11-20T10:15:00.000Z' }]);
    expect(await consumer.handle(deliveries([sent!]))).toBeUndefined();
    expect(await db.query(`SELECT 1 FROM network_stats WHERE chain_id = $1 AND packets_sent = 1`, [src])).toHaveLength(1);
  });
});

describe('stuck detection (real PostgreSQL and NATS)', () => {
  const seen: Array<{ subject: string; payload: Record<string, unknown> }> = [];
  beforeAll(async () => {
    const { nc } = await connection.get();
    for (const event of ['packet.stuck', 'packet.unstuck', 'packet.near_timeout'] as const) {
      nc.subscribe(subjectFilter(event), {
        callback: (_e, m) => {
          seen.push({ subject: m.subject, payload: m.json<Record<string, unknown>>() });
        },
      });
    }
  });
  const eventsFor = (event: string, packet: PacketId) =>
    seen.filter((s) => s.subject.includes(`.${event}.`) && (s.payload.packet as PacketId).sequence === packet.sequence && (s.payload.packet as PacketId).src_chain_id === packet.src_chain_id);

  it('flags a packet whose timeout passed on the destination as timeout_pending, then unstuck when the timeout is relayed', async () => {
    const src = `to-src-${uniqueSuffix()}`;
    const dst = `to-dst-${uniqueSuffix()}`;
    const sent: PacketSentV1 = packetSentFixture(src, 1, {
      dst_chain_id: dst,
      block_time: '2026-11-20T10:00:00.000Z',
      timeout_height: { revision_number: '1', revision_height: '1000' },
      timeout_timestamp_ns: '0',
      transfer: { denom: 'uatom', amount: '5', sender: 'cosmos1stuckowner', receiver: 'osmo1receiver' },
    });
    await ingest([{ event: 'packet.sent', payload: sent }], [
      { chainId: src, height: '100', blockTime: '2026-11-20T12:00:00.000Z' },
      // The destination is past the timeout height, and its clock past STUCK_AFTER_SECONDS since the send.
      { chainId: dst, height: '1001', blockTime: '2026-11-20T12:00:00.000Z' },
    ]);
    await detector.tick();
    const [row] = await db.query<{ stuck_kind: string }>(`SELECT stuck_kind FROM packet_flow WHERE src_chain_id = $1`, [src]);
    expect(row!.stuck_kind).toBe('timeout_pending');
    await waitFor(() => eventsFor('stuck', sent.packet).length === 1, 5_000);
    expect(eventsFor('stuck', sent.packet)[0]!.payload).toMatchObject({ kind: 'timeout_pending', sender: 'cosmos1stuckowner', dst_chain_id: dst });

    // Another tick does not emit it again.
    await detector.tick();
    const timedOut: EventMap['packet.timed_out'] = {
      packet: sent.packet,
      dst_chain_id: dst,
      dst_port: sent.dst_port,
      dst_channel: sent.dst_channel,
      timeout_height: sent.timeout_height,
      timeout_timestamp_ns: '0',
      chain_id: src,
      height: '101',
      block_time: '2026-11-20T12:00:05.000Z',
      tx_hash: hash(77),
      msg_index: 0,
      relayer: 'cosmos1timeoutrelayer',
      effected: true,
    };
    await ingest([{ event: 'packet.timed_out', payload: timedOut }], [{ chainId: src, height: '101', blockTime: '2026-11-20T12:00:05.000Z' }]);
    await detector.tick();
    await waitFor(() => eventsFor('unstuck', sent.packet).length === 1, 5_000);
    expect(eventsFor('unstuck', sent.packet)[0]!.payload).toMatchObject({ kind: 'timeout_pending', resolution: 'timed_out' });
    expect(eventsFor('stuck', sent.packet)).toHaveLength(1);
    const [after] = await db.query<{ stuck_kind: string | null }>(`SELECT stuck_kind FROM packet_flow WHERE src_chain_id = $1`, [src]);
    expect(after!.stuck_kind).toBeNull();
  });

  it('a receipt whose acknowledgement is not written yet (async ack) is not awaiting_ack until the ack is written', async () => {
    const src = `async-src-${uniqueSuffix()}`;
    const dst = `async-dst-${uniqueSuffix()}`;
    const sent = packetSentFixture(src, 1, { dst_chain_id: dst, block_time: '2026-11-20T10:00:00.000Z', timeout_timestamp_ns: '0' });
    const route = { dst_chain_id: dst, dst_port: 'transfer', dst_channel: sent.dst_channel, timeout_height: sent.timeout_height, timeout_timestamp_ns: '0' };
    const recv: PacketReceivedV1 = {
      packet: sent.packet,
      ...route,
      chain_id: dst,
      height: '60',
      block_time: '2026-11-20T10:01:00.000Z',
      tx_hash: hash(901),
      msg_index: 0,
      relayer: 'osmo1relayer',
      effected: true,
      ack_pending: true,
    };
    await ingest(
      [
        { event: 'packet.sent', payload: sent },
        { event: 'packet.received', payload: recv },
      ],
      [
        { chainId: src, height: '100', blockTime: '2026-11-20T12:00:00.000Z' },
        { chainId: dst, height: '500', blockTime: '2026-11-20T12:00:00.000Z' },
      ],
    );
    await detector.tick();
    const state = async () =>
      (await db.query<{ status: string; stuck_kind: string | null; ack_pending: boolean; ack_written_height: string | null }>(
        `SELECT status, stuck_kind, ack_pending, ack_written_height::text FROM packet_flow WHERE src_chain_id = $1`,
        [src],
      ))[0]!;
    // Two hours after the receipt, still no acknowledgement to relay: not stuck, nothing to sell.
    expect(await state()).toEqual({ status: 'received', stuck_kind: null, ack_pending: true, ack_written_height: null });

    const written: EventMap['packet.ack_written'] = { packet: sent.packet, ...route, chain_id: dst, height: '480', block_time: '2026-11-20T11:50:00.000Z', tx_hash: hash(902), msg_index: 0, ack_success: true };
    await ingest([{ event: 'packet.ack_written', payload: written }], [{ chainId: dst, height: '501', blockTime: '2026-11-20T12:00:01.000Z' }]);
    await detector.tick();
    // Written 10 minutes before the source's clock: not yet past STUCK_AFTER_SECONDS since the write.
    expect(await state()).toMatchObject({ status: 'received', stuck_kind: null, ack_written_height: '480' });
    await ingest([], [{ chainId: src, height: '101', blockTime: '2026-11-20T13:00:00.000Z' }]);
    await detector.tick();
    expect(await state()).toMatchObject({ status: 'received', stuck_kind: 'awaiting_ack', ack_written_height: '480' });
  });

  it('judges age by the destination chain clock: a lagging ingest does not make packets stuck', async () => {
    const src = `lag-src-${uniqueSuffix()}`;
    const dst = `lag-dst-${uniqueSuffix()}`;
    const sent = packetSentFixture(src, 1, { dst_chain_id: dst, block_time: '2026-11-20T10:00:00.000Z', timeout_timestamp_ns: '0' });
    await ingest([{ event: 'packet.sent', payload: sent }], [
      { chainId: src, height: '100', blockTime: '2026-11-20T12:00:00.000Z' },
      // Ingest of the destination is only 5 minutes past the send: the recv may simply not be ingested yet.
      { chainId: dst, height: '50', blockTime: '2026-11-20T10:05:00.000Z' },
    ]);
    await detector.tick();
    expect((await db.query<{ stuck_kind: string | null }>(`SELECT stuck_kind FROM packet_flow WHERE src_chain_id = $1`, [src]))[0]!.stuck_kind).toBeNull();
    await ingest([], [{ chainId: dst, height: '90', blockTime: '2026-11-20T10:20:00.000Z' }]);
    await detector.tick();
    expect((await db.query<{ stuck_kind: string | null }>(`SELECT stuck_kind FROM packet_flow WHERE src_chain_id = $1`, [src]))[0]!.stuck_kind).toBe('awaiting_recv');
  });

  it('warns once about a packet still awaiting receipt close to its height timeout', async () => {
    const src = `near-src-${uniqueSuffix()}`;
    const dst = `near-dst-${uniqueSuffix()}`;
    const sent = packetSentFixture(src, 1, {
      dst_chain_id: dst,
      block_time: '2026-11-20T10:00:00.000Z',
      timeout_height: { revision_number: '1', revision_height: '1050' },
      timeout_timestamp_ns: '0',
    });
    await ingest([{ event: 'packet.sent', payload: sent }], [
      { chainId: src, height: '100', blockTime: '2026-11-20T10:03:00.000Z' },
      { chainId: dst, height: '1000', blockTime: '2026-11-20T10:03:00.000Z' },
    ]);
    await detector.tick();
    await detector.tick();
    await waitFor(() => eventsFor('near_timeout', sent.packet).length >= 1, 5_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(eventsFor('near_timeout', sent.packet)).toHaveLength(1);
    expect(eventsFor('near_timeout', sent.packet)[0]!.payload).toMatchObject({ blocks_left: 50 });
  });
});
