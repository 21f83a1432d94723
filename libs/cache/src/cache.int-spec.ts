import { loadEnv } from '@unstuck/config';
import { metricsRegistry } from '@unstuck/observability';
import { startServer, stopServer, uniqueSuffix, waitFor } from '@unstuck/testing';
import type { Redis } from 'ioredis';
import { createRedis, followInvalidations } from './cache.module';
import { redisEnvShape } from './env';
import { TieredCache, type Keyspace, type TieredCacheOptions } from './tiered-cache';

const env = loadEnv(redisEnvShape, {});
const options = { l1MaxEntries: 1000, l1TtlMs: 30_000, compressThresholdBytes: 1024, lockTtlMs: 3_000, prefix: 'test:cache' };

/** One "instance": its own Redis connections, its own L1, following invalidations as CacheModule does. */
function instance(name: string, overrides: Partial<TieredCacheOptions> = {}) {
  const redis = createRedis(env, name);
  const sub = createRedis(env, `${name}:sub`, { offlineQueue: true });
  const cache = new TieredCache(redis, { ...options, ...overrides });
  followInvalidations(sub, cache);
  const ready = waitFor(() => cache.invalidationFeedLive, 10_000);
  return { cache, redis, sub, ready, close: () => Promise.allSettled([redis.quit(), sub.quit()]) };
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await metricsRegistry.getSingleMetric(name)?.get())?.values ?? [];
  return m.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
}

describe('TieredCache (real Redis)', () => {
  const a = instance('cache-test-a');
  const b = instance('cache-test-b');
  let raw: Redis;
  beforeAll(async () => {
    await Promise.all([a.ready, b.ready]);
    raw = createRedis(env, 'cache-test-raw', { offlineQueue: true });
  });
  afterAll(async () => {
    await startServer('redis');
    await Promise.all([a.close(), b.close(), raw.quit()]);
  });

  const keyspace = (): Keyspace => ({ name: `ks-${uniqueSuffix()}`, ttlMs: 60_000, earlyRefreshBeta: 0 });

  it('never stores, nor shares with later callers, a load that an invalidation overtook', async () => {
    const ks = keyspace();
    let release!: (v: string) => void;
    const slow = a.cache.getOrLoad(ks, 'k', () => new Promise<string>((r) => (release = r)));
    await waitFor(() => release !== undefined);
    await b.cache.invalidate(ks, 'k'); // the data changed while instance a was reading the old value
    await waitFor(async () => (await counter('cache_requests_total', { keyspace: ks.name })) >= 1);
    await new Promise((r) => setTimeout(r, 50)); // the invalidation message reaches a
    const fresh = a.cache.getOrLoad(ks, 'k', async () => 'new');
    release('old');
    expect(await slow).toBe('old'); // its own caller still gets an answer
    expect(await fresh).toBe('new'); // a caller after the invalidation did not join the stale load
    expect(await a.cache.getOrLoad(ks, 'k', async () => 'loaded-again')).toBe('new');
    expect(await b.cache.get(ks, 'k')).toBe('new');
  });
  const slowLoader = (calls: { n: number }, value: unknown, ms = 50) => async () => {
    calls.n += 1;
    await new Promise((r) => setTimeout(r, ms));
    return value;
  };

  it('calls the loader once for 100 concurrent misses on one key', async () => {
    const ks = keyspace();
    const calls = { n: 0 };
    const values = await Promise.all(Array.from({ length: 100 }, () => a.cache.getOrLoad(ks, 'hot', slowLoader(calls, { v: 42 }))));
    expect(calls.n).toBe(1);
    expect(values.every((v) => (v as { v: number }).v === 42)).toBe(true);
  });

  it('calls the loader once when two instances miss the same key at the same time', async () => {
    const ks = keyspace();
    const calls = { n: 0 };
    const loader = slowLoader(calls, 'shared', 200);
    const results = await Promise.all([
      ...Array.from({ length: 50 }, () => a.cache.getOrLoad(ks, 'k', loader)),
      ...Array.from({ length: 50 }, () => b.cache.getOrLoad(ks, 'k', loader)),
    ]);
    expect(calls.n).toBe(1);
    expect(new Set(results)).toEqual(new Set(['shared']));
  });

  it('gzips values over the threshold with the g: prefix and reads them back intact', async () => {
    const ks = keyspace();
    const big = { packets: Array.from({ length: 200 }, (_, i) => ({ sequence: String(i), denom: 'uatom', amount: '1000000' })) };
    await a.cache.set(ks, 'big', big);
    await a.cache.set(ks, 'small', { x: 1 });
    const stored = await raw.getBuffer(`${options.prefix}:${ks.name}:big`);
    expect(stored!.subarray(0, 2).toString()).toBe('g:');
    expect(stored!.length).toBeLessThan(JSON.stringify(big).length / 3);
    expect((await raw.getBuffer(`${options.prefix}:${ks.name}:small`))!.subarray(0, 2).toString()).toBe('r:');
    // b has no L1 entry: this reads and inflates the Redis copy.
    expect(await b.cache.get(ks, 'big')).toEqual(big);
  });

  it('fetches several keys in one pipeline', async () => {
    const ks = keyspace();
    await a.cache.set(ks, 'one', 1);
    await a.cache.set(ks, 'two', 2);
    const found = await b.cache.mget<number>(ks, ['one', 'two', 'missing']);
    expect(Object.fromEntries(found)).toEqual({ one: 1, two: 2 });
  });

  it('invalidation reaches the L1 of every instance', async () => {
    const ks = keyspace();
    const calls = { n: 0 };
    await a.cache.getOrLoad(ks, 'w', slowLoader(calls, 'old', 1));
    await b.cache.getOrLoad(ks, 'w', slowLoader(calls, 'old', 1));
    expect(calls.n).toBe(1);
    await a.cache.invalidate(ks, 'w');
    // b's L1 still held 'old'; once the message arrives its next read goes to the loader.
    await waitFor(async () => (await b.cache.getOrLoad(ks, 'w', slowLoader(calls, 'new', 1))) === 'new', 3_000);
  });

  it('refreshes a hot key early, in the background, when XFetch says so', async () => {
    // XFetch refreshes when δ·β·(−ln r) ≥ time left; with a 5 ms loader, r = 1e-300 gives ≈ 3.5 s ≥ a 2 s TTL.
    const ks: Keyspace = { name: `ks-${uniqueSuffix()}`, ttlMs: 2_000, l1TtlMs: 0, earlyRefreshBeta: 1 };
    const calls = { n: 0 };
    const lucky = new TieredCache(a.redis, { ...options, random: () => 0.999 });
    expect(await lucky.getOrLoad(ks, 'k', slowLoader(calls, 'v1', 5))).toBe('v1');
    // r close to 1: −ln r ≈ 0, no refresh.
    expect(await lucky.getOrLoad(ks, 'k', slowLoader(calls, 'v2', 5))).toBe('v1');
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.n).toBe(1);

    const unlucky = new TieredCache(a.redis, { ...options, random: () => 1e-300 });
    // This hit is served the current value and triggers one refresh in the background.
    expect(await unlucky.getOrLoad(ks, 'k', slowLoader(calls, 'v2', 5))).toBe('v1');
    await waitFor(async () => (await unlucky.get(ks, 'k')) === 'v2', 3_000);
    expect(calls.n).toBe(2);
  });

  it('serves no L1 copy it may have missed an invalidation of: none while its subscription is lost, none from before once it is back', async () => {
    // c serves no L1 copy at all while unsynced (its unsynced lifetime is 0), so the test needs no timing.
    const c = instance('cache-test-c', { l1UnsyncedTtlMs: 0 });
    try {
      await c.ready;
      const ks = keyspace();
      expect(await c.cache.getOrLoad(ks, 'k', async () => 'v1')).toBe('v1');
      const hits = () => counter('cache_requests_total', { keyspace: ks.name, result: 'l1_hit' });
      expect(await c.cache.getOrLoad(ks, 'k', async () => 'unused')).toBe('v1');
      expect(await hits()).toBe(1);

      // c's subscription connection is cut; the value changes meanwhile, and c does not hear the invalidation.
      const clients = String(await raw.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const id = /id=(\d+) .*name=cache-test-c:sub /.exec(clients)?.[1];
      expect(id).toBeDefined();
      const closed = new Promise((resolve) => c.sub.once('close', resolve));
      await raw.call('CLIENT', 'KILL', 'ID', id!);
      await a.cache.invalidate(ks, 'k');
      await a.cache.set(ks, 'k', 'v2');
      await closed;
      expect(c.cache.invalidationFeedLive).toBe(false);
      // Before: c kept answering 'v1' from L1 for its whole lifetime (30 s here).
      expect(await c.cache.getOrLoad(ks, 'k', async () => 'unused')).toBe('v2');
      expect(await hits()).toBe(1);

      // Back: the copies from before are gone, new ones are served from L1 again.
      await waitFor(() => c.cache.invalidationFeedLive, 10_000);
      expect(await c.cache.getOrLoad(ks, 'k', async () => 'unused')).toBe('v2');
      expect(await c.cache.getOrLoad(ks, 'k', async () => 'unused')).toBe('v2');
      expect(await hits()).toBe(2);
      // And invalidations reach it again.
      await a.cache.invalidate(ks, 'k');
      await waitFor(async () => (await c.cache.getOrLoad(ks, 'k', async () => 'v3')) === 'v3', 3_000);
    } finally {
      await c.close();
    }
  });

  it('returns the loader value and counts the error while Redis is stopped', async () => {
    const ks = keyspace();
    const errorsBefore = await counter('cache_errors_total', { keyspace: ks.name });
    await stopServer('redis');
    try {
      const calls = { n: 0 };
      const down = createRedis(env, 'cache-test-down');
      const fresh = new TieredCache(down, options);
      try {
        expect(await fresh.getOrLoad(ks, 'k', slowLoader(calls, 'from-db', 1))).toBe('from-db');
        expect(calls.n).toBe(1);
        expect(await counter('cache_errors_total', { keyspace: ks.name })).toBeGreaterThan(errorsBefore);
      } finally {
        down.disconnect();
      }
    } finally {
      await startServer('redis');
    }
    await waitFor(async () => (await a.redis.ping()) === 'PONG', 10_000);
  });
});
