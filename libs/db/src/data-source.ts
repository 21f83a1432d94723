import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import type { DbEnv } from './env';
import { MIGRATIONS } from './migrations';

export type DbRole = 'primary' | 'replica' | 'migrations';

/** TypeORM data source for one server; never `synchronize` — the schema changes only through migrations. */
export function createDataSource(env: DbEnv, role: DbRole, applicationName = 'unstuck'): DataSource {
  const replica = role === 'replica';
  const migrations = role === 'migrations';
  const options: DataSourceOptions = {
    type: 'postgres',
    url: replica ? env.DATABASE_REPLICA_URL : env.DATABASE_URL,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // The schema is owned by the migrations (gen_random_uuid() is built in since PostgreSQL 13).
    installExtensions: false,
    migrationsRun: false,
    logging: ['error', 'warn'],
    extra: {
      application_name: `${applicationName}:${role}`,
      max: migrations ? 2 : replica ? env.DB_REPLICA_POOL_MAX : env.DB_POOL_MAX,
      min: migrations ? 0 : env.DB_POOL_MIN,
      idleTimeoutMillis: env.DB_IDLE_TIMEOUT_MS,
      connectionTimeoutMillis: env.DB_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      // Index builds in migrations may legitimately take long; application queries may not.
      statement_timeout: migrations ? 0 : env.DB_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: env.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      query_timeout: migrations ? undefined : env.DB_QUERY_TIMEOUT_MS,
      options: '-c timezone=UTC',
    },
  };
  return new DataSource(options);
}
