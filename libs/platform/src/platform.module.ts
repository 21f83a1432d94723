import { Module, type DynamicModule } from '@nestjs/common';
import { CacheModule, RedisReadiness, redisEnvShape } from '@unstuck/cache';
import { envVar, serviceEnvShape, type EnvOf } from '@unstuck/config';
import { DbModule, PrimaryReadiness, ReplicaReadiness, dbEnvShape } from '@unstuck/db';
import { MessagingModule, NatsReadiness, natsEnvShape } from '@unstuck/messaging';
import { ObservabilityModule } from '@unstuck/observability';

/** Every variable the shared infrastructure reads; an app adds its own to this shape. */
export const platformEnvShape = {
  ...serviceEnvShape,
  ...dbEnvShape,
  ...natsEnvShape,
  ...redisEnvShape,
  MEMORY_CHECK_INTERVAL_MS: envVar.int(30_000, 100),
  MEMORY_HIGH_RATIO: envVar.number(0.85, 0.1, 1),
  MEMORY_CRITICAL_RATIO: envVar.number(0.95, 0.1, 1),
};

export type PlatformEnv = EnvOf<typeof platformEnvShape>;

/** What services that browsers call (gateway, notifier) read besides the platform's variables. */
export const browserFacingEnvShape = {
  /** Origins allowed by CORS, comma-separated; empty allows none (same-origin only). */
  CORS_ORIGINS: envVar.list(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://localhost:5173']),
};

export interface PlatformOptions {
  service: string;
  /** Whether the service cannot work without Redis (job queues) or only uses it as a cache. */
  redisCritical: boolean;
}

/**
 * The infrastructure every service shares: logs, metrics, health, PostgreSQL (primary + replica), NATS JetStream
 * and Redis. Readiness needs the primary and NATS; the replica and (unless `redisCritical`) Redis are reported
 * as degraded when down, because the services keep working without them.
 */
@Module({})
export class PlatformModule {
  static forRoot(env: PlatformEnv, options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      imports: [
        ObservabilityModule.forRoot({
          service: options.service,
          logLevel: env.LOG_LEVEL,
          readiness: [PrimaryReadiness, ReplicaReadiness, NatsReadiness, RedisReadiness],
          memory: {
            intervalMs: env.MEMORY_CHECK_INTERVAL_MS,
            highRatio: env.MEMORY_HIGH_RATIO,
            criticalRatio: env.MEMORY_CRITICAL_RATIO,
          },
        }),
        DbModule.forRoot(env, options.service),
        MessagingModule.forRoot(env, options.service),
        CacheModule.forRoot(env, { service: options.service, redisCritical: options.redisCritical }),
      ],
    };
  }
}
