import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv } from '@unstuck/config';
import { STREAMS, subjectFilter } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import {
  ChainSimAdmin,
  consumeFromNow,
  packetKeys,
  simChains,
  startBuiltApp,
  statsGrowth,
  statsRecount,
  statsTotals,
  waitFor,
  startChainSimRun,
  type ServiceProcess,
  type StatsCounts,
} from '@unstuck/testing';

/**
 * chain-sim → packet-ingest → two stats-aggregator instances, all from built JS on ports of the test's own. The
 * statistics the aggregators wrote are compared with counts recomputed from packet_flow and packet_relays for
 * the packets of this run (as deltas: the database outlives test runs).
 */
const ADMIN_PORT = 17600;
const ADMIN = `http://127.0.0.1:${ADMIN_PORT}`;
const RPC_BASE_PORT = 17657;
const CHAINS = simChains(RPC_BASE_PORT);
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

  let statsBefore: StatsCounts;

  beforeAll(async () => {
    await db.start();
    const { jsm } = await nats.get();
    await consumeFromNow(jsm, STREAMS.PACKETS.name, DURABLE, 'unstuck.packet.>');
    statsBefore = await statsTotals(db, CHAIN_IDS);

    processes.push((await startChainSimRun({ rpcBasePort: RPC_BASE_PORT, adminPort: ADMIN_PORT, seed: 11, chainsFile })).process);
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
    const keys = packetKeys(truth);
    const expected = await statsRecount(db, truth);
    expect(Object.values(expected.relayers).some((r) => r.frontrun > 0)).toBe(true);
    expect(statsGrowth(await statsTotals(db, CHAIN_IDS), statsBefore)).toEqual(expected);

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
