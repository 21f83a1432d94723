import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { redisCounterRemote, SharedCounter } from '@unstuck/cache';
import { clientKey, isProbeOrScrape, metric } from '@unstuck/observability';
import type { AppEnv } from '../env';
import { ApiError } from './errors';

export { clientKey };

export type RateLimitSettings = Pick<AppEnv, 'RATE_LIMIT_WINDOW_MS' | 'RATE_LIMIT_PER_IP' | 'RATE_LIMIT_PER_WALLET'>;

/** A request's verdict: which limit it counts against, and the headers that tell the client where it stands. */
export interface RateVerdict {
  key: string;
  limit: number;
  /** Requests left in the window (0 once over). */
  remaining: number;
  /** Seconds until the window starts again. */
  resetSeconds: number;
  exceeded: boolean;
}

/**
 * Counts one request against its caller's limits: always its client address's (`ip:<address or /64>`, as Fastify
 * resolved it behind TRUST_PROXY), and, for a signed-in wallet, the wallet's too (`w:<address>`, whatever address
 * it calls from). A sign-in token adds a limit, never lifts one. The verdict is the limit that is exceeded, else
 * the one closer to it. Fixed windows of RATE_LIMIT_WINDOW_MS.
 */
export function countRequest(counter: SharedCounter, settings: RateLimitSettings, request: Pick<FastifyRequest, 'auth' | 'ip'>): RateVerdict {
  const one = (key: string, limit: number): RateVerdict => {
    const { current, ttlMs } = counter.increment(key, settings.RATE_LIMIT_WINDOW_MS);
    return { key, limit, remaining: Math.max(0, limit - current), resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)), exceeded: current > limit };
  };
  const byAddress = one(`ip:${clientKey(request.ip)}`, settings.RATE_LIMIT_PER_IP);
  const wallet = request.auth && 'wallet' in request.auth ? request.auth.wallet : undefined;
  if (wallet === undefined) return byAddress;
  const byWallet = one(`w:${wallet}`, settings.RATE_LIMIT_PER_WALLET);
  if (byAddress.exceeded !== byWallet.exceeded) return byAddress.exceeded ? byAddress : byWallet;
  return byWallet.remaining / byWallet.limit <= byAddress.remaining / byAddress.limit ? byWallet : byAddress;
}

/** The answer to a request over its limit: a 429 (our error shape) whose Retry-After is when the window starts again. */
export function rateLimited(verdict: RateVerdict, settings: RateLimitSettings): ApiError {
  return new ApiError(
    429,
    'rate_limited',
    `rate limit of ${verdict.limit} requests per ${Math.round(settings.RATE_LIMIT_WINDOW_MS / 1000)} s reached; retry after ${verdict.resetSeconds} s`,
    undefined,
    verdict.resetSeconds,
  );
}

/**
 * The X-RateLimit-* headers for a verdict, once the caller has used half its quota in the window (and on every
 * refusal); none before. The IETF draft on these fields (draft-ietf-httpapi-ratelimit-headers, "Performance
 * Considerations") leaves servers free to send them only as a quota nears exhaustion, and clients must expect
 * that. Here they cost more than anything else on a cached lookup: the three headers took ~10 % of the gateway's
 * throughput (server CPU to write them, client CPU to parse them), for callers nowhere near their limit.
 */
export function rateHeaders(verdict: RateVerdict): Record<string, string> | undefined {
  if (!verdict.exceeded && verdict.remaining > verdict.limit / 2) return undefined;
  return { 'x-ratelimit-limit': String(verdict.limit), 'x-ratelimit-remaining': String(verdict.remaining), 'x-ratelimit-reset': String(verdict.resetSeconds) };
}

/**
 * Per-IP and per-wallet limits that hold across replicas: counted in this process at once and summed in Redis every
 * RATE_LIMIT_SYNC_MS (no Redis round trip per request, which had been a fifth of the gateway's CPU on cached
 * lookups). If Redis fails, each replica still enforces the limit on what it sees.
 *
 * Every request but probes and scrapes counts, unknown paths included, once its caller is known (after the sign-in
 * hook). Answers carry `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds) once half the quota is used (see
 * rateHeaders); one over the limit is a 429 with `Retry-After`. A synchronous hook, in place of @fastify/rate-limit,
 * which awaited its key, allow list, limit and store in turn.
 */
export function registerRateLimit(fastify: FastifyInstance, redis: Redis, env: AppEnv): void {
  const logger = new Logger('RateLimit');
  const syncErrors = metric.counter({ name: 'gateway_rate_limit_sync_errors_total', help: 'Failed syncs of the rate-limit counters with Redis' });
  let lastLogged = 0;
  const counter = new SharedCounter(redisCounterRemote(redis, 'unstuck:ratelimit:v2:'), {
    syncIntervalMs: env.RATE_LIMIT_SYNC_MS,
    maxKeys: 200_000,
    onSyncError: (e) => {
      syncErrors.inc();
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      logger.warn(`rate-limit counters not synced with Redis (limits hold per replica meanwhile): ${e instanceof Error ? e.message : String(e)}`);
    },
  });
  fastify.addHook('onClose', async () => counter.close());
  // A request Nest does not route (a 404) passes this hook twice; it counts once (@fastify/rate-limit marked it too).
  const counted = new WeakSet<object>();
  fastify.addHook('preHandler', (request, reply, done) => {
    if (isProbeOrScrape(request.url) || counted.has(request.raw)) return done();
    counted.add(request.raw);
    const verdict = countRequest(counter, env, request);
    const headers = rateHeaders(verdict);
    if (headers) void reply.headers(headers);
    if (!verdict.exceeded) return done();
    done(rateLimited(verdict, env));
  });
}
