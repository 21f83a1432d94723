export { AdvisoryLeases } from './advisory-leases';
export { createDataSource, type DbRole } from './data-source';
export { Database, ensureInitialized, type DatabaseOptions, type ReadPreference, type ReplicaState } from './database';
export { DB_ENV, DbModule, PrimaryReadiness, ReplicaReadiness } from './db.module';
export { dbEnvShape, type DbEnv } from './env';
export { isConnectionError, isDataException, isRecoveryConflict, rowsOf } from './errors';
export * from './entities';
export { MIGRATIONS, PACKET_FLOW_INDEXES, PERFORMANCE_INDEXES, STATS_TABLE_INDEXES } from './migrations';
export { revertLastMigration } from './migrate';
