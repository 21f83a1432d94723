import { cpus } from 'node:os';
import { envVar, type EnvOf } from '@unstuck/config';

const CPU_COUNT = Math.max(1, cpus().length);

/**
 * Pool and timeout defaults from seed 003: max = min(CPUs × 2 + 10, 100) for a self-hosted server, min =
 * max(CPUs / 4, 2); statement_timeout 30 s with idle-in-transaction matching it, the client's query timeout 5 s
 * above that, and an explicit 10 s connect timeout.
 */
export const dbEnvShape = {
  DATABASE_URL: envVar.url('postgres://unstuck:unstuck@127.0.0.1:55432/unstuck', ['postgres', 'postgresql']),
  DATABASE_REPLICA_URL: envVar.url('postgres://unstuck:unstuck@127.0.0.1:55433/unstuck', ['postgres', 'postgresql']),
  DB_REPLICA_ENABLED: envVar.bool(true),
  DB_POOL_MAX: envVar.int(Math.min(CPU_COUNT * 2 + 10, 100), 1, 1000),
  DB_POOL_MIN: envVar.int(Math.max(Math.floor(CPU_COUNT / 4), 2), 0, 1000),
  DB_REPLICA_POOL_MAX: envVar.int(Math.min(CPU_COUNT * 2 + 10, 100), 1, 1000),
  DB_IDLE_TIMEOUT_MS: envVar.int(10_000, 0),
  DB_STATEMENT_TIMEOUT_MS: envVar.int(30_000, 0),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: envVar.int(30_000, 0),
  DB_QUERY_TIMEOUT_MS: envVar.int(35_000, 0),
  DB_CONNECT_TIMEOUT_MS: envVar.int(10_000, 100),
  /** A replica-safe read goes to the replica only while its replay lag is under this. */
  REPLICA_MAX_LAG_MS: envVar.int(5_000, 0),
  REPLICA_CHECK_INTERVAL_MS: envVar.int(1_000, 50),
};

export type DbEnv = EnvOf<typeof dbEnvShape>;
