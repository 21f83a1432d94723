import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { ReadinessCheck } from '@unstuck/observability';
import { createDataSource } from './data-source';
import { Database, ensureInitialized } from './database';
import type { DbEnv } from './env';

export const DB_ENV = Symbol('DB_ENV');

/** /health/ready fails without the primary: nothing can be written. */
@Injectable()
export class PrimaryReadiness implements ReadinessCheck {
  readonly name = 'postgres_primary';
  readonly critical = true;
  constructor(@Inject(Database) private readonly db: Database) {}
  async check(): Promise<void> {
    await ensureInitialized(this.db.primary);
    await this.db.primary.query('SELECT 1');
  }
}

/** The replica is reported but never fails readiness: its reads fall back to the primary. */
@Injectable()
export class ReplicaReadiness implements ReadinessCheck {
  readonly name = 'postgres_replica';
  readonly critical = false;
  constructor(@Inject(Database) private readonly db: Database) {}
  async check(): Promise<Record<string, unknown>> {
    const s = await this.db.probe();
    if (!s.available) throw new Error(s.reason ?? 'replica unavailable');
    return { lag_ms: s.lagMs };
  }
}

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly db: Database) {}
  // After the HTTP server and the consumers have stopped, so in-flight work can still commit.
  async onApplicationShutdown(): Promise<void> {
    await this.db.stop();
  }
}

@Global()
@Module({})
export class DbModule {
  static forRoot(env: DbEnv, applicationName: string): DynamicModule {
    return {
      module: DbModule,
      providers: [
        { provide: DB_ENV, useValue: env },
        {
          provide: Database,
          useFactory: async () => {
            const db = new Database(
              createDataSource(env, 'primary', applicationName),
              env.DB_REPLICA_ENABLED ? createDataSource(env, 'replica', applicationName) : undefined,
              { maxLagMs: env.REPLICA_MAX_LAG_MS, checkIntervalMs: env.REPLICA_CHECK_INTERVAL_MS },
            );
            await db.start();
            return db;
          },
        },
        DatabaseLifecycle,
        PrimaryReadiness,
        ReplicaReadiness,
      ],
      exports: [Database, DB_ENV, PrimaryReadiness, ReplicaReadiness],
    };
  }
}
