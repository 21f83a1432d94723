import { Global, Inject, Injectable, Logger, Module, Optional, type DynamicModule, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { MemoryPressureMonitor, type ReadinessCheck } from '@unstuck/observability';
import type { RedisEnv } from './env';
import { INVALIDATION_CHANNEL, TieredCache } from './tiered-cache';

export const REDIS = Symbol('REDIS');
const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
const REDIS_CRITICAL = Symbol('REDIS_CRITICAL');

/** ioredis tuned to fail fast: with no offline queue a command during an outage errors at once instead of waiting. */
export function createRedis(env: RedisEnv, name: string, options: { offlineQueue?: boolean } = {}): Redis {
  const redis = new Redis(env.REDIS_URL, {
    connectionName: name,
    enableOfflineQueue: options.offlineQueue ?? false,
    maxRetriesPerRequest: 1,
    commandTimeout: env.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  });
  const logger = new Logger(`Redis:${name}`);
  let lastLogged = 0;
  redis.on('error', (e: Error) => {
    // An outage produces an error per reconnect attempt; one line every 10 s is enough.
    if (Date.now() - lastLogged > 10_000) {
      lastLogged = Date.now();
      logger.warn(`redis error: ${e.message}`);
    }
  });
  return redis;
}

@Injectable()
export class RedisReadiness implements ReadinessCheck {
  readonly name = 'redis';
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_CRITICAL) readonly critical: boolean,
  ) {}
  async check(): Promise<void> {
    await this.redis.ping();
  }
}

/**
 * Subscribes `cache` to the invalidations other instances publish, and tells it whether they reach it: from the
 * moment Redis confirms the subscription on the current connection until that connection closes. ioredis subscribes
 * again on its own after a reconnect; subscribing on 'ready' as well gives a reply to wait for (a connection answers
 * in order, so by then its own resubscription is in effect too).
 */
export function followInvalidations(subscriber: Redis, cache: TieredCache): void {
  subscriber.on('message', (channel: string, message: string) => {
    if (channel === INVALIDATION_CHANNEL) cache.onInvalidationMessage(message);
  });
  const listen = () =>
    subscriber.subscribe(INVALIDATION_CHANNEL).then(
      () => subscriber.status === 'ready' && cache.invalidationFeed(true),
      () => undefined,
    );
  cache.invalidationFeed(false);
  subscriber.on('close', () => cache.invalidationFeed(false));
  subscriber.on('ready', () => void listen());
  void listen();
}

@Injectable()
class CacheLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(TieredCache) private readonly cache: TieredCache,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Optional() @Inject(MemoryPressureMonitor) private readonly memory?: MemoryPressureMonitor,
  ) {}

  onModuleInit(): void {
    followInvalidations(this.subscriber, this.cache);
    this.memory?.register('tiered-cache-l1', (level) => this.cache.shedL1(level));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.subscriber.quit(), this.redis.quit()]);
  }
}

export interface CacheModuleOptions {
  service: string;
  /** True where Redis holds state the service cannot do without (job queues); false where it is only a cache. */
  redisCritical: boolean;
}

@Global()
@Module({})
export class CacheModule {
  static forRoot(env: RedisEnv, options: CacheModuleOptions): DynamicModule {
    return {
      module: CacheModule,
      providers: [
        { provide: REDIS, useFactory: () => createRedis(env, options.service) },
        { provide: REDIS_SUBSCRIBER, useFactory: () => createRedis(env, `${options.service}:sub`, { offlineQueue: true }) },
        { provide: REDIS_CRITICAL, useValue: options.redisCritical },
        {
          provide: TieredCache,
          useFactory: (redis: Redis) =>
            new TieredCache(redis, {
              l1MaxEntries: env.CACHE_L1_MAX_ENTRIES,
              l1TtlMs: env.CACHE_L1_TTL_MS,
              l1UnsyncedTtlMs: env.CACHE_L1_UNSYNCED_TTL_MS,
              compressThresholdBytes: env.CACHE_COMPRESS_THRESHOLD_BYTES,
              lockTtlMs: env.CACHE_LOCK_TTL_MS,
              prefix: 'unstuck:cache:v1',
            }),
          inject: [REDIS],
        },
        CacheLifecycle,
        RedisReadiness,
      ],
      exports: [REDIS, TieredCache, RedisReadiness],
    };
  }
}
