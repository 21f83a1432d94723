import { loadEnv } from '@unstuck/config';
import { startServer, stopServer, superuser, waitFor } from '@unstuck/testing';
import { createDataSource } from './data-source';
import { Database } from './database';
import { dbEnvShape } from './env';

/** Which server answered: the primary listens on 55432, the replica on 55433. */
const SERVER_PORT = 'SELECT inet_server_port() AS port';
const answeredBy = async (db: Database) =>
  Number((await db.query<{ port: number }>(SERVER_PORT, [], 'replica'))[0]!.port) === 55433 ? 'replica' : 'primary';

/**
 * Waits until the replica has replayed everything the primary has written so far. The test files before this one
 * may leave it catching up, and a replica seen far behind on a first look is judged by the age of its last replayed
 * transaction, so a read routed at once could rightly go to the primary.
 */
async function replicaCaughtUp(): Promise<void> {
  const primary = await superuser('primary');
  const replica = await superuser('replica');
  try {
    const [{ lsn }] = (await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows as [{ lsn: string }];
    await waitFor(async () => (await replica.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).rows[0]!.done, 30_000);
  } finally {
    await Promise.all([primary.end(), replica.end()]);
  }
}

function makeDatabase(options: { maxLagMs: number; checkIntervalMs: number }): Database {
  const env = loadEnv(dbEnvShape, {});
  return new Database(createDataSource(env, 'primary', 'test'), createDataSource(env, 'replica', 'test'), options);
}

describe('read routing (real primary and streaming replica)', () => {
  afterAll(async () => {
    await startServer('replica');
    const c = await superuser('replica');
    await c.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await c.end();
  });

  it('sends replica-safe reads to the replica and the default reads to the primary', async () => {
    await replicaCaughtUp();
    const db = makeDatabase({ maxLagMs: 5_000, checkIntervalMs: 200 });
    await db.start();
    try {
      expect(await answeredBy(db)).toBe('replica');
      const [row] = await db.query<{ port: number }>(SERVER_PORT);
      expect(Number(row!.port)).toBe(55432);
    } finally {
      await db.stop();
    }
  });

  it('answers replica-safe reads from the primary while the replica is stopped, then returns to the replica', async () => {
    const db = makeDatabase({ maxLagMs: 5_000, checkIntervalMs: 200 });
    await db.start();
    try {
      await stopServer('replica');
      // No read fails: the first may hit the dead replica before any probe noticed, and is retried on the primary.
      for (let i = 0; i < 5; i++) expect(await answeredBy(db)).toBe('primary');
      expect(db.replicaState.available).toBe(false);
      await startServer('replica');
      await waitFor(async () => (await db.probe()).available, 20_000);
      expect(await answeredBy(db)).toBe('replica');
    } finally {
      await db.stop();
    }
  });

  it('retries on the primary a read that fails on the replica before any probe has noticed the outage', async () => {
    await replicaCaughtUp();
    // A probe interval far longer than the test: only the in-query failover can save the read.
    const db = makeDatabase({ maxLagMs: 5_000, checkIntervalMs: 600_000 });
    await db.start();
    try {
      expect(await answeredBy(db)).toBe('replica');
      await stopServer('replica');
      expect(await answeredBy(db)).toBe('primary');
      expect(db.replicaState.reason).toMatch(/replica failed a query/);
    } finally {
      await startServer('replica');
      await db.stop();
    }
  });

  it('routes to the primary while replay is paused past REPLICA_MAX_LAG_MS, and back once resumed', async () => {
    const maxLagMs = 400;
    const db = makeDatabase({ maxLagMs, checkIntervalMs: 100 });
    await db.start();
    const replicaSu = await superuser('replica');
    const primarySu = await superuser('primary');
    try {
      await waitFor(async () => (await db.probe()).available, 20_000);
      await replicaSu.query('SELECT pg_wal_replay_pause()');
      // A write the paused replica cannot replay puts it behind; after the lag limit, reads leave it.
      await primarySu.query('CREATE TEMP TABLE IF NOT EXISTS t (x int)');
      await primarySu.query(`SELECT pg_logical_emit_message(false, 'unstuck-test', 'x')`);
      await primarySu.query('SELECT txid_current()');
      await waitFor(async () => {
        const s = await db.probe();
        return !s.available && (s.lagMs ?? 0) > maxLagMs;
      }, 10_000);
      expect(await answeredBy(db)).toBe('primary');
      expect(db.replicaState.reason).toMatch(/replay lag/);

      await replicaSu.query('SELECT pg_wal_replay_resume()');
      await waitFor(async () => (await db.probe()).available, 10_000);
      expect(db.replicaState.lagMs).toBeLessThan(maxLagMs);
      expect(await answeredBy(db)).toBe('replica');
    } finally {
      await replicaSu.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await replicaSu.end();
      await primarySu.end();
      await db.stop();
    }
  });
});
