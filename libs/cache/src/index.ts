export { CacheModule, createRedis, REDIS, RedisReadiness, type CacheModuleOptions } from './cache.module';
export { decodeValue, encodeValue } from './codec';
export { redisEnvShape, type RedisEnv } from './env';
export { INVALIDATION_CHANNEL, TieredCache, type Keyspace, type TieredCacheOptions } from './tiered-cache';
export { redisCounterRemote, SharedCounter, type CounterAddition, type CounterRemote, type SharedCounterOptions } from './shared-counter';
