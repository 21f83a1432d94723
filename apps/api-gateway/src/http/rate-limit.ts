import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { REDIS, redisCounterRemote, SharedCounter } from '@unstuck/cache';
import { isProbeOrScrape, metric } from '@unstuck/observability';
import type { AppEnv } from '../env';

type IncrCallback = (error: Error | null, result: { current: number; ttl: number }) => void;

/** @fastify/rate-limit's store interface over a `SharedCounter` (route-level limits get their own key space). */
export function sharedCounterStore(counter: SharedCounter, prefix = ''): FastifyRateLimitStoreCtor {
  return class SharedCounterStore implements FastifyRateLimitStore {
    incr(key: string, cb: IncrCallback, timeWindow: number): void {
      const { current, ttlMs } = counter.increment(prefix + key, timeWindow);
      cb(null, { current, ttl: ttlMs });
    }
    child(options: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // At run time the plugin passes its merged options, the route under `routeInfo`.
      const route = (options as { routeInfo?: { method?: unknown; url?: string } }).routeInfo ?? options;
      const Child = sharedCounterStore(counter, `${prefix}${String(route.method)}${route.url}-`);
      return new Child({});
    }
  };
}

/**
 * Per-IP and per-wallet limits that hold across replicas: counted in this process at once and summed in Redis every
 * RATE_LIMIT_SYNC_MS (no Redis round trip per request, which had been a fifth of the gateway's CPU on cached
 * lookups). If Redis fails, each replica still enforces the limit on what it sees.
 */
export async function registerRateLimit(app: NestFastifyApplication, env: AppEnv): Promise<void> {
  const logger = new Logger('RateLimit');
  const syncErrors = metric.counter({ name: 'gateway_rate_limit_sync_errors_total', help: 'Failed syncs of the rate-limit counters with Redis' });
  let lastLogged = 0;
  const counter = new SharedCounter(redisCounterRemote(app.get<Redis>(REDIS), 'unstuck:ratelimit:v2:'), {
    syncIntervalMs: env.RATE_LIMIT_SYNC_MS,
    maxKeys: 200_000,
    onSyncError: (e) => {
      syncErrors.inc();
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      logger.warn(`rate-limit counters not synced with Redis (limits hold per replica meanwhile): ${e instanceof Error ? e.message : String(e)}`);
    },
  });
  app.getHttpAdapter().getInstance().addHook('onClose', async () => counter.close());
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    store: sharedCounterStore(counter),
    timeWindow: env.RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) => (request.auth && 'wallet' in request.auth ? `w:${request.auth.wallet}` : `ip:${request.ip}`),
    max: (_request, key) => (key.startsWith('w:') ? env.RATE_LIMIT_PER_WALLET : env.RATE_LIMIT_PER_IP),
    allowList: (request) => isProbeOrScrape(request.url),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'rate_limited',
      message: `rate limit of ${context.max} requests per ${context.after} reached; retry after ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });
}
