import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnv } from '@unstuck/config';
import { STREAMS } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import {
  ChainSimAdmin,
  consumeFromNow,
  packetDifferences,
  serverDownFor,
  simChains,
  startBuiltApp,
  statsGrowth,
  statsRecount,
  statsTotals,
  untilReady,
  waitFor,
  startChainSimRun,
  type ServiceProcess,
  type StatsCounts,
  type TruthPacket,
} from '@unstuck/testing';

/**
 * Faults injected into the running pipeline — chain-sim → packet-ingest → stats-aggregator, from built JS, while
 * chain-sim keeps making traffic: a server stopped and started again, a service killed with SIGKILL and restarted.
 * After each, every packet chain-sim made must be in packet_flow exactly as chain-sim says, and the statistics must
 * have grown by exactly what packet_flow recounts for the run: nothing lost, nothing counted twice.
 */
const ADMIN_PORT = 20600;
const ADMIN = `http://127.0.0.1:${ADMIN_PORT}`;
const RPC_BASE_PORT = 20657;
const CHAINS = simChains(RPC_BASE_PORT);
const CHAIN_IDS = CHAINS.map((c) => c.chain_id);
const DURABLE = 'stats-aggregator';
const INGEST_PORT = 23402;
const STATS_PORT = 23403;

const simAdmin = new ChainSimAdmin(ADMIN);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults injected into the running pipeline (chain-sim, built services, real servers)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'faults-test');
  const chainsFile = join(mkdtempSync(join(tmpdir(), 'unstuck-faults-')), 'chains.yaml');
  const processes: ServiceProcess[] = [];
  let ingest: ServiceProcess;
  let stats: ServiceProcess;
  let statsBefore: StatsCounts;

  const startIngest = () => {
    ingest = startBuiltApp('packet-ingest', {
      INGEST_PORT: String(INGEST_PORT),
      CHAINS_FILE: chainsFile,
      INGEST_POLL_INTERVAL_MS: '200',
      INGEST_RPC_TIMEOUT_MS: '2000',
    });
    processes.push(ingest);
  };
  const startStats = () => {
    // STATS_COMMIT_WAIT_MS short: events whose block ingest has not committed go back to the stream at once.
    stats = startBuiltApp('stats-aggregator', { STATS_PORT: String(STATS_PORT), STATS_COMMIT_WAIT_MS: '500' });
    processes.push(stats);
  };

  beforeAll(async () => {
    await db.start();
    const { jsm } = await nats.get();
    await consumeFromNow(jsm, STREAMS.PACKETS.name, DURABLE, 'unstuck.packet.>');
    statsBefore = await statsTotals(db, CHAIN_IDS);

    processes.push((await startChainSimRun({ rpcBasePort: RPC_BASE_PORT, adminPort: ADMIN_PORT, seed: 23, chainsFile })).process);
    startIngest();
    startStats();
    await untilReady([`http://127.0.0.1:${INGEST_PORT}/health/ready`, `http://127.0.0.1:${STATS_PORT}/health/ready`], processes);
  }, 90_000);

  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await db.stop();
    await nats.close();
  });

  /**
   * Stops traffic, waits until ingest has every height and the aggregator every event, then checks both against
   * chain-sim's ground truth; traffic resumes for the next fault.
   */
  async function expectEverythingAccountedFor(): Promise<void> {
    const truth = await simAdmin.quiesce<TruthPacket>(db, CHAIN_IDS, 90_000);
    expect(truth.length).toBeGreaterThan(20);
    expect(await packetDifferences(db, truth)).toEqual([]);
    const { jsm } = await nats.get();
    await waitFor(async () => {
      const info = await jsm.consumers.info(STREAMS.PACKETS.name, DURABLE);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    }, 90_000, 250);
    expect(statsGrowth(await statsTotals(db, CHAIN_IDS), statsBefore)).toEqual(await statsRecount(db, truth));
    await simAdmin.call('/rate', { transfers_per_block: 3 });
  }

  it.each([
    ['NATS', 'nats'],
    ['the PostgreSQL primary', 'primary'],
  ] as const)('%s stopped for 8 s mid-stream: ingest and the aggregator carry on, every packet and count exactly once', async (_name, component) => {
    await pause(2_000); // mid-stream
    await serverDownFor(component, 8_000);
    await expectEverythingAccountedFor();
    expect(ingest.child.exitCode).toBeNull();
    expect(stats.child.exitCode).toBeNull();
  }, 240_000);

  it('ingest killed (SIGKILL) and down for 10 s, then the aggregator killed: every packet and count exactly once', async () => {
    await pause(2_000);
    ingest.kill('SIGKILL');
    await ingest.exited;
    await pause(10_000);
    startIngest();
    await pause(2_000);
    stats.kill('SIGKILL');
    await stats.exited;
    startStats();
    await untilReady([`http://127.0.0.1:${INGEST_PORT}/health/ready`, `http://127.0.0.1:${STATS_PORT}/health/ready`], [ingest, stats]);
    await expectEverythingAccountedFor();
  }, 240_000);
});
