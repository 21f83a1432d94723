import { loadEnv } from '@unstuck/config';
import type { PacketAcknowledgedV1, PacketReceivedV1, PacketSentV1 } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import type { OutgoingEvent } from '@unstuck/messaging';
import { packetSentFixture, uniqueSuffix } from '@unstuck/testing';
import { GroupCommitter, PacketStore } from './packet-store';

const env = loadEnv(dbEnvShape, {});
const db = new Database(createDataSource(env, 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
const store = new PacketStore(db);
beforeAll(() => db.start());
afterAll(() => db.stop());

const hash = (n: number) => n.toString(16).toUpperCase().padStart(64, '0');
const at = (minutes: number) => new Date(Date.UTC(2024, 10, 1, 12, minutes)).toISOString();

function lifecycle(chain: string, sequence: number) {
  const sent = packetSentFixture(chain, sequence, {
    dst_chain_id: `${chain}-dst`,
    connection_id: 'connection-7',
    block_time: at(0),
    height: '100',
    tx_hash: hash(1),
    transfer: { denom: 'uatom', amount: '1000000', sender: 'cosmos1sender', receiver: 'osmo1receiver' },
  });
  const relay = { dst_chain_id: `${chain}-dst`, dst_port: 'transfer', dst_channel: 'channel-141', timeout_height: sent.timeout_height, timeout_timestamp_ns: sent.timeout_timestamp_ns };
  const recv = (relayer: string, effected: boolean, minute: number, n: number): PacketReceivedV1 => ({
    packet: sent.packet,
    ...relay,
    connection_id: 'connection-99',
    chain_id: `${chain}-dst`,
    height: String(200 + minute),
    block_time: at(minute),
    tx_hash: hash(n),
    msg_index: 1,
    relayer,
    effected,
    ack_success: true,
  });
  const ack: PacketAcknowledgedV1 = {
    packet: sent.packet,
    ...relay,
    connection_id: 'connection-7',
    chain_id: chain,
    height: '130',
    block_time: at(5),
    tx_hash: hash(9),
    msg_index: 0,
    relayer: 'cosmos1relayerA',
    effected: true,
    ack_success: true,
  };
  return {
    sent: { event: 'packet.sent', payload: sent } as OutgoingEvent,
    recvA: { event: 'packet.received', payload: recv('osmo1relayerA', true, 2, 2) } as OutgoingEvent,
    recvB: { event: 'packet.received', payload: recv('osmo1relayerB', false, 3, 3) } as OutgoingEvent,
    ack: { event: 'packet.acknowledged', payload: ack } as OutgoingEvent,
    packet: sent.packet,
  };
}

const COLUMNS = `status, sender, receiver, denom, amount::text, dst_chain_id, dst_channel, connection_id, send_height::text,
  send_time, send_tx_hash, recv_height::text, recv_time, recv_tx_hash, recv_relayer, ack_time, ack_tx_hash, ack_relayer, ack_success,
  timeout_time, relay_attempts, clear_time_ms::text, timeout_timestamp_ns::text, timeout_revision_height::text`;
async function row(packet: PacketSentV1['packet']) {
  const rows = await db.query(
    `SELECT ${COLUMNS} FROM packet_flow WHERE src_chain_id = $1 AND src_port = $2 AND src_channel = $3 AND sequence = $4`,
    [packet.src_chain_id, packet.src_port, packet.src_channel, packet.sequence],
  );
  expect(rows).toHaveLength(1);
  return rows[0];
}
const relayCount = async (chain: string) =>
  Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM packet_relays WHERE src_chain_id = $1`, [chain]))[0]!.n);

describe('PacketStore (real PostgreSQL)', () => {
  it('ends in the same row whatever order the events of a packet arrive in', async () => {
    const inOrder = lifecycle(`order-a-${uniqueSuffix()}`, 1);
    for (const e of [inOrder.sent, inOrder.recvA, inOrder.recvB, inOrder.ack]) await store.commit([e]);
    const reversed = lifecycle(`order-b-${uniqueSuffix()}`, 1);
    for (const e of [reversed.ack, reversed.recvB, reversed.recvA, reversed.sent]) await store.commit([e]);

    const a = await row(inOrder.packet);
    const b = await row(reversed.packet);
    const { dst_chain_id: dstA, ...restA } = a as Record<string, unknown>;
    const { dst_chain_id: dstB, ...restB } = b as Record<string, unknown>;
    expect(restB).toEqual(restA);
    expect([dstA, dstB]).toEqual([`${inOrder.packet.src_chain_id}-dst`, `${reversed.packet.src_chain_id}-dst`]);
    expect(a).toMatchObject({
      status: 'acknowledged',
      sender: 'cosmos1sender',
      amount: '1000000',
      // The source chain's connection, not the destination's that the recv event carries.
      connection_id: 'connection-7',
      recv_relayer: 'osmo1relayerA',
      ack_relayer: 'cosmos1relayerA',
      relay_attempts: 3,
      clear_time_ms: String(5 * 60_000),
    });
  });

  it('leaves the same rows when the same events are committed again (redelivery)', async () => {
    const p = lifecycle(`twice-${uniqueSuffix()}`, 5);
    const batch = [p.sent, p.recvA, p.recvB, p.ack];
    await store.commit(batch);
    const first = await row(p.packet);
    const relays = await relayCount(p.packet.src_chain_id);
    await store.commit(batch);
    await store.commit([p.ack, p.sent]);
    expect(await row(p.packet)).toEqual(first);
    expect(await relayCount(p.packet.src_chain_id)).toBe(relays);
    expect(relays).toBe(3);
  });

  it('records the effected relay on the packet and every attempt, frontrun included, as relay rows', async () => {
    const p = lifecycle(`race-${uniqueSuffix()}`, 9);
    await store.commit([p.sent, p.recvB, p.recvA]);
    expect(await row(p.packet)).toMatchObject({ status: 'received', recv_relayer: 'osmo1relayerA', relay_attempts: 2 });
    const relays = await db.query<{ relayer: string; effected: boolean }>(
      `SELECT relayer, effected FROM packet_relays WHERE src_chain_id = $1 ORDER BY relayer`,
      [p.packet.src_chain_id],
    );
    expect(relays).toEqual([
      { relayer: 'osmo1relayerA', effected: true },
      { relayer: 'osmo1relayerB', effected: false },
    ]);
  });

  it('loses no fact when the send and the recv of a packet are committed at the same time', async () => {
    for (let i = 0; i < 10; i++) {
      const p = lifecycle(`concurrent-${uniqueSuffix()}`, 3);
      await Promise.all([store.commit([p.sent]), store.commit([p.recvA]), store.commit([p.ack])]);
      expect(await row(p.packet)).toMatchObject({ status: 'acknowledged', sender: 'cosmos1sender', recv_relayer: 'osmo1relayerA', ack_relayer: 'cosmos1relayerA', relay_attempts: 2 });
    }
  });

  it('with two writer lanes, two chains committing the same packets at once end in the same rows and cursors', async () => {
    const chain = `lanes-${uniqueSuffix()}`;
    const writer = new GroupCommitter(new PacketStore(db), 20_000, 2);
    const packets = Array.from({ length: 40 }, (_, i) => {
      const p = lifecycle(chain, i + 1);
      // Relay rows are keyed by their transaction: each packet's relays in transactions of their own.
      [p.sent, p.recvA, p.recvB, p.ack].forEach((e, n) => ((e.payload as PacketSentV1).tx_hash = hash(1_000 + i * 4 + n)));
      return p;
    });
    // The source chain's batches (sends, then acks) and the destination's (recvs) race in the two lanes; every
    // batch is a new transaction, with keys claimed by one lane while the other waits for them.
    const source = (async () => {
      for (let b = 0; b < 4; b++) {
        await writer.commit(packets.slice(b * 10, b * 10 + 10).map((p) => p.sent), { chainId: chain, height: String(100 + b), blockTime: at(b) });
      }
      await writer.commit(packets.map((p) => p.ack), { chainId: chain, height: '104', blockTime: at(5) });
    })();
    const destination = (async () => {
      for (let b = 3; b >= 0; b--) {
        const slice = packets.slice(b * 10, b * 10 + 10);
        await writer.commit([...slice.map((p) => p.recvA), ...slice.map((p) => p.recvB)], { chainId: `${chain}-dst`, height: String(204 - b), blockTime: at(4) });
      }
    })();
    await Promise.all([source, destination]);
    for (const p of packets) {
      expect(await row(p.packet)).toMatchObject({ status: 'acknowledged', sender: 'cosmos1sender', recv_relayer: 'osmo1relayerA', ack_relayer: 'cosmos1relayerA', relay_attempts: 3 });
    }
    expect(await relayCount(chain)).toBe(120);
    expect(await store.cursor(chain)).toBe('104');
    expect(await store.cursor(`${chain}-dst`)).toBe('204');
  });

  it('keeps a packet key to the microsecond, reuses one whose rows failed, and finds keys other writers claimed', async () => {
    const p = lifecycle(`keys-${uniqueSuffix()}`, 4);
    const sent = p.sent.payload as PacketSentV1;
    sent.block_time = '2024-11-01T12:00:00.123456Z';
    // Fails in the packet_flow upsert, after its key was claimed (in a statement of its own): the key stays, with no
    // row and no cursor move, and the retry lands on it.
    const broken = { event: 'packet.sent', payload: { ...sent, transfer: { ...sent.transfer!, amount: 'not a number' } } } as OutgoingEvent;
    await expect(store.commit([broken], { chainId: sent.packet.src_chain_id, height: '100', blockTime: at(0) })).rejects.toThrow();
    const keyRows = () => db.query(`SELECT id::text FROM packet_keys WHERE src_chain_id = $1`, [sent.packet.src_chain_id]);
    const claimed = await keyRows();
    expect(claimed).toHaveLength(1);
    expect(await db.query(`SELECT 1 FROM packet_flow WHERE src_chain_id = $1`, [sent.packet.src_chain_id])).toHaveLength(0);
    expect(await store.cursor(sent.packet.src_chain_id)).toBeUndefined();

    await store.commit([p.sent]);
    expect(await keyRows()).toEqual(claimed);
    // Another process (a store with nothing cached) and then this one again: both land on the same row.
    await new PacketStore(db).commit([p.recvA]);
    await store.commit([p.ack]);
    const joined = await db.query<{ status: string; created_at: Date }>(
      `SELECT f.status, f.created_at FROM packet_keys k JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id WHERE k.src_chain_id = $1`,
      [sent.packet.src_chain_id],
    );
    expect(joined).toHaveLength(1);
    expect(joined[0]!.status).toBe('acknowledged');
    expect((await db.query(`SELECT 1 FROM packet_flow WHERE src_chain_id = $1`, [sent.packet.src_chain_id])).length).toBe(1);
    expect((await db.query(`SELECT created_at::text AS t FROM packet_keys WHERE src_chain_id = $1`, [sent.packet.src_chain_id]))[0]).toEqual({ t: '2024-11-01 12:00:00.123456+00' });
  });

  it('moves the cursor in the same transaction as the rows, forward only', async () => {
    const chain = `cursor-${uniqueSuffix()}`;
    const p = lifecycle(chain, 1);
    await store.commit([p.sent], { chainId: chain, height: '100', blockTime: at(0) });
    expect(await store.cursor(chain)).toBe('100');
    await store.commit([], { chainId: chain, height: '90', blockTime: at(0) });
    expect(await store.cursor(chain)).toBe('100');

    // A batch that fails leaves neither its rows nor its cursor behind.
    const bad = lifecycle(chain, 2);
    (bad.sent.payload as PacketSentV1).packet.sequence = '0';
    await expect(store.commit([bad.sent], { chainId: chain, height: '101', blockTime: at(1) })).rejects.toThrow();
    expect(await store.cursor(chain)).toBe('100');
  });

  it('records a gap once, extends it with the next adjacent one of the same reason, and moves the cursor past it', async () => {
    const chain = `gap-${uniqueSuffix()}`;
    const gaps = () => db.query<{ from_height: string; to_height: string; reason: string }>(`SELECT from_height::text, to_height::text, reason FROM ingest_gaps WHERE chain_id = $1 ORDER BY from_height`, [chain]);
    expect(await store.recordGap({ chainId: chain, from: 1, to: 99, reason: 'pruned', detail: 'node from 100' })).toBe(true);
    expect(await store.cursor(chain)).toBe('99');
    // The same gap again (a restart before the next commit): nothing new.
    expect(await store.recordGap({ chainId: chain, from: 1, to: 99, reason: 'pruned', detail: 'node from 100' })).toBe(false);
    // Heights without results, one at a time: one row that grows.
    await store.recordGap({ chainId: chain, from: 150, to: 150, reason: 'no_results', detail: 'x' });
    await store.recordGap({ chainId: chain, from: 151, to: 151, reason: 'no_results', detail: 'x' });
    await store.recordGap({ chainId: chain, from: 152, to: 160, reason: 'no_results', detail: 'x' });
    expect(await gaps()).toEqual([
      { from_height: '1', to_height: '99', reason: 'pruned' },
      { from_height: '150', to_height: '160', reason: 'no_results' },
    ]);
    expect(await store.cursor(chain)).toBe('160');
  });
});
