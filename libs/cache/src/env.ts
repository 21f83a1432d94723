import { envVar, type EnvOf } from '@unstuck/config';

export const redisEnvShape = {
  REDIS_URL: envVar.url('redis://127.0.0.1:56379', ['redis', 'rediss']),
  /** A Redis command slower than this fails and the caller gets the loader's answer instead. */
  REDIS_COMMAND_TIMEOUT_MS: envVar.int(500, 10),
  CACHE_L1_MAX_ENTRIES: envVar.int(10_000, 0),
  /** Longest an in-process copy lives while invalidations reach the instance (one removes it at once). */
  CACHE_L1_TTL_MS: envVar.int(30_000, 0),
  /**
   * Longest an instance serves an in-process copy while invalidations do not reach it (Redis down, subscription
   * lost): how long it can show what another instance invalidated.
   */
  CACHE_L1_UNSYNCED_TTL_MS: envVar.int(5_000, 0),
  CACHE_COMPRESS_THRESHOLD_BYTES: envVar.int(1_024, 0),
  /** How long one loader may hold a key's lock; others wait for its value at most this long. */
  CACHE_LOCK_TTL_MS: envVar.int(5_000, 100),
};

export type RedisEnv = EnvOf<typeof redisEnvShape>;
