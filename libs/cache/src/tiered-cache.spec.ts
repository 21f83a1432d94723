import type { Redis } from 'ioredis';
import { TieredCache } from './tiered-cache';

// Only the in-process level is exercised here; Redis behaviour is covered by cache.int-spec.ts against a real server.
const noRedis = {} as Redis;
const options = { l1MaxEntries: 100, l1TtlMs: 60_000, compressThresholdBytes: 1024, lockTtlMs: 1000, prefix: 'p' };

describe('TieredCache L1 shedding', () => {
  it('drops the least recently used half under high pressure and everything under critical', async () => {
    const cache = new TieredCache(noRedis, options);
    const ks = { name: 'ks', ttlMs: 60_000 };
    const l1 = (cache as unknown as { l1Set: (k: typeof ks, key: string, v: unknown, exp: number) => void }).l1Set.bind(cache);
    for (let i = 0; i < 10; i++) l1(ks, `k${i}`, i, Date.now() + 60_000);
    // Touch k0..k4 so that k5..k9 are the least recently used.
    for (let i = 0; i < 5; i++) (cache as unknown as { l1Get: (k: typeof ks, key: string) => unknown }).l1Get(ks, `k${i}`);
    expect(cache.shedL1('high')).toBe(5);
    expect(cache.l1Size).toBe(5);
    const kept = [0, 1, 2, 3, 4].every((i) => (cache as any).l1Get(ks, `k${i}`).hit);
    expect(kept).toBe(true);
    expect(cache.shedL1('critical')).toBe(5);
    expect(cache.l1Size).toBe(0);
  });
});

describe('TieredCache L1 while invalidations do not reach it', () => {
  afterEach(() => jest.useRealTimers());

  it('serves copies younger than l1UnsyncedTtlMs only, and drops every copy when the feed is back', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-22T12:00:00Z') });
    const cache = new TieredCache(noRedis, { ...options, l1UnsyncedTtlMs: 5_000 });
    const ks = { name: 'ks', ttlMs: 60_000 };
    const internals = cache as unknown as {
      l1Set: (k: typeof ks, key: string, v: unknown, exp: number) => void;
      l1Get: (k: typeof ks, key: string) => { hit: boolean; value?: unknown };
    };
    const set = (key: string) => internals.l1Set(ks, key, key, Date.now() + 60_000);
    const hit = (key: string) => internals.l1Get(ks, key).hit;

    set('old');
    jest.advanceTimersByTime(20_000);
    expect(hit('old')).toBe(true); // synced: the keyspace's lifetime (60 s) applies

    cache.invalidationFeed(false);
    expect(cache.invalidationFeedLive).toBe(false);
    set('young');
    jest.advanceTimersByTime(4_000);
    expect(hit('old')).toBe(false); // 24 s old, past the unsynced 5 s
    expect(hit('young')).toBe(true);
    jest.advanceTimersByTime(2_000);
    expect(hit('young')).toBe(false);

    set('before-back');
    cache.invalidationFeed(true);
    expect(hit('before-back')).toBe(false);
    expect(cache.l1Size).toBe(0);
    set('after');
    jest.advanceTimersByTime(30_000);
    expect(hit('after')).toBe(true);
  });
});

describe('TieredCache.peek', () => {
  it('answers from L1 without waiting, falsy values included, and nothing when L1 does not hold the key', async () => {
    const cache = new TieredCache(noRedis, options);
    const ks = { name: 'ks', ttlMs: 60_000 };
    const l1Set = (cache as unknown as { l1Set: (k: typeof ks, key: string, v: unknown, exp: number) => void }).l1Set.bind(cache);
    expect(cache.peek(ks, 'zero')).toBeUndefined();
    l1Set(ks, 'zero', 0, Date.now() + 60_000);
    expect(cache.peek(ks, 'zero')?.value).toBe(0);
    // getOrLoad answers the same L1 value (no loader call, no Redis: this cache has none).
    await expect(cache.getOrLoad(ks, 'zero', () => Promise.reject(new Error('loader called')))).resolves.toBe(0);
    expect(cache.peek({ name: 'other', ttlMs: 60_000 }, 'zero')).toBeUndefined();
  });
});
