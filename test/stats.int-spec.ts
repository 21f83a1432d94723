import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { loadEnv } from '@unstuck/config';
import { STREAMS, subjectFilter } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import { ChainSimAdmin, startBuiltApp, waitFor, writeChainsFile, type ServiceProcess } from '@unstuck/testing';

/**
 * chain-sim → packet-ingest → two stats-aggregator instances, all from built JS on ports of the test's own. The
 * statistics the aggregators wrote are compared with counts recomputed from packet_flow and packet_relays for
 * the packets of this run (as deltas: the database outlives test runs).
 */
const ADMIN = 'http://127.0.0.1:17600';
const CHAINS = [
  { chain_id: 'cosmoshub-4', port: 17657 },
  { chain_id: 'osmosis-1', port: 17667 },
  { chain_id: 'neutron-1', port: 17677 },
];
const CHAIN_IDS = CHAINS.map((c) => c.chain_id);
const DURABLE = 'stats-aggregator';

const simAdmin = new ChainSimAdmin(ADMIN);

describe('stats-aggregator against chain-sim and packet-ingest (real servers and processes)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'stats-e2e');
  const dir = mkdtempSync(join(tmpdir(), 'unstuck-stats-'));
  const chainsFile = join(dir, 'chains.yaml');
  const processes: ServiceProcess[] = [];
  const statsPorts = [23303, 23304];

  const networkTotals = () =>
    db.query<{ chain_id: string; sent: string; received: string; acknowledged: string; timed_out: string }>(
      `SELECT chain_id, sum(packets_sent)::text AS sent, sum(packets_received)::text AS received,
              sum(packets_acknowledged)::text AS acknowledged, sum(packets_timed_out)::text AS timed_out
         FROM network_stats WHERE chain_id = ANY($1) GROUP BY 1 ORDER BY 1`,
      [CHAIN_IDS],
    );
  const relayerTotals = () =>
    db.query<{ relayer: string; chain_id: string; relayed: string; effected: string; frontrun: string }>(
      `SELECT relayer_address AS relayer, chain_id, sum(packets_relayed)::text AS relayed, sum(packets_effected)::text AS effected,
              sum(packets_frontrun)::text AS frontrun
         FROM relayer_performance WHERE chain_id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
      [CHAIN_IDS],
    );
  let networkBefore: Awaited<ReturnType<typeof networkTotals>> = [];
  let relayersBefore: Awaited<ReturnType<typeof relayerTotals>> = [];

  beforeAll(async () => {
    await db.start();
    const { jsm } = await nats.get();
    // Only this run's events: the stream also holds earlier runs' and other tests' messages.
    await jsm.consumers.delete(STREAMS.PACKETS.name, DURABLE).catch(() => undefined);
    await jsm.consumers.add(STREAMS.PACKETS.name, {
      durable_name: DURABLE,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: `unstuck.packet.>`,
      ack_wait: nanos(30_000),
    });
    networkBefore = await networkTotals();
    relayersBefore = await relayerTotals();

    processes.push(
      startBuiltApp('chain-sim', {
        CHAIN_SIM_RPC_BASE_PORT: '17657',
        CHAIN_SIM_ADMIN_PORT: '17600',
        CHAIN_SIM_BLOCK_MS: '100',
        CHAIN_SIM_SEED: '11',
        CHAIN_SIM_TRANSFERS_PER_BLOCK: '3',
        CHAIN_SIM_RACE_PROBABILITY: '0.4',
      }),
    );
    await simAdmin.waitUntilUp();
    const earliest = await ChainSimAdmin.earliestHeights(CHAINS.map((c) => c.port));
    writeChainsFile(CHAINS.map((c, i) => ({ chain_id: c.chain_id, port: c.port, start_height: earliest[i]! })), chainsFile);
    processes.push(startBuiltApp('packet-ingest', { INGEST_PORT: '23302', CHAINS_FILE: chainsFile, INGEST_POLL_INTERVAL_MS: '200' }));
    for (const port of statsPorts) {
      processes.push(
        startBuiltApp('stats-aggregator', {
          STATS_PORT: String(port),
          STUCK_AFTER_SECONDS: '3',
          STATS_DETECT_INTERVAL_MS: '500',
          STATS_LEADER_CHECK_MS: '500',
        }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await db.stop();
    await nats.close();
  });

  it('writes statistics that match counts recomputed from packet_flow, with two aggregators sharing the stream', async () => {
    await new Promise((r) => setTimeout(r, 8_000));
    // Ingest has every height, then the aggregators every event.
    await simAdmin.quiesce(db, CHAIN_IDS, 60_000);
    const { jsm } = await nats.get();
    await waitFor(async () => {
      const info = await jsm.consumers.info(STREAMS.PACKETS.name, DURABLE);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 60_000, 200);

    const truth = await simAdmin.packets();
    expect(truth.length).toBeGreaterThan(50);
    const keys = [truth.map((p) => p.src_chain_id), truth.map((p) => p.src_channel), truth.map((p) => p.sequence)];
    const expectedNetwork = await db.query<{ chain_id: string; sent: string; received: string; acknowledged: string; timed_out: string }>(
      `WITH run AS (SELECT f.* FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
                      JOIN packet_flow f ON f.src_chain_id = t.c AND f.src_port = 'transfer' AND f.src_channel = t.ch AND f.sequence = t.s),
            facts AS (SELECT src_chain_id AS chain_id, 1 AS sent, 0 AS received, (ack_time IS NOT NULL)::int AS acknowledged,
                             (timeout_time IS NOT NULL)::int AS timed_out FROM run WHERE send_time IS NOT NULL
                      UNION ALL
                      SELECT dst_chain_id, 0, 1, 0, 0 FROM run WHERE recv_time IS NOT NULL)
       SELECT chain_id, sum(sent)::text AS sent, sum(received)::text AS received, sum(acknowledged)::text AS acknowledged,
              sum(timed_out)::text AS timed_out FROM facts GROUP BY 1 ORDER BY 1`,
      keys,
    );
    const expectedRelayers = await db.query<{ relayer: string; chain_id: string; relayed: string; effected: string; frontrun: string }>(
      `SELECT r.relayer, r.chain_id, count(*)::text AS relayed, count(*) FILTER (WHERE r.effected)::text AS effected,
              count(*) FILTER (WHERE NOT r.effected)::text AS frontrun
         FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
         JOIN packet_relays r ON r.src_chain_id = t.c AND r.src_port = 'transfer' AND r.src_channel = t.ch AND r.sequence = t.s
        GROUP BY 1, 2 ORDER BY 1, 2`,
      keys,
    );
    expect(expectedRelayers.some((r) => Number(r.frontrun) > 0)).toBe(true);

    const delta = <T extends Record<string, string>>(after: T[], before: T[], keyOf: (r: T) => string, fields: Array<keyof T>) => {
      const prior = new Map(before.map((r) => [keyOf(r), r]));
      return after
        .map((r) => ({ key: keyOf(r), ...Object.fromEntries(fields.map((f) => [f, Number(r[f]) - Number(prior.get(keyOf(r))?.[f] ?? 0)])) }))
        .filter((r) => fields.some((f) => (r as Record<string, unknown>)[f as string] !== 0));
    };
    const asExpected = <T extends Record<string, string>>(rows: T[], keyOf: (r: T) => string, fields: Array<keyof T>) =>
      rows.map((r) => ({ key: keyOf(r), ...Object.fromEntries(fields.map((f) => [f, Number(r[f])])) }));
    const netFields = ['sent', 'received', 'acknowledged', 'timed_out'] as const;
    const relFields = ['relayed', 'effected', 'frontrun'] as const;
    const relKey = (r: { relayer: string; chain_id: string }) => `${r.relayer}@${r.chain_id}`;

    expect(delta(await networkTotals(), networkBefore, (r) => r.chain_id, [...netFields])).toEqual(
      asExpected(expectedNetwork, (r) => r.chain_id, [...netFields]),
    );
    const relayersNow = delta(await relayerTotals(), relayersBefore, relKey, [...relFields]);
    expect(relayersNow.sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(
      asExpected(expectedRelayers, relKey, [...relFields]).sort((a, b) => (a.key < b.key ? -1 : 1)),
    );

    // Exactly one of the two instances leads the scheduled jobs.
    const leaders = await Promise.all(
      statsPorts.map(async (p) => /^stats_leader(\{[^}]*\})? 1$/m.test(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text())),
    );
    expect(leaders.filter(Boolean)).toHaveLength(1);

    // Packets chain-sim left in flight are flagged stuck; finished ones are not.
    await waitFor(async () => {
      const rows = await db.query<{ pending: boolean; stuck: boolean }>(
        `SELECT f.status IN ('sent', 'received') AS pending, f.stuck_kind IS NOT NULL AS stuck
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
           JOIN packet_flow f ON f.src_chain_id = t.c AND f.src_port = 'transfer' AND f.src_channel = t.ch AND f.sequence = t.s`,
        keys,
      );
      return rows.length === truth.length && rows.every((r) => r.pending === r.stuck);
    }, 30_000, 500);
    expect(truth.some((p) => p.state === 'sent' || p.state === 'received')).toBe(true);
    const stuckStream = await jsm.streams.info(STREAMS.PACKETS.name, { subjects_filter: subjectFilter('packet.stuck') });
    expect(stuckStream.state.num_subjects ?? 0).toBeGreaterThan(0);
  }, 240_000);
});
