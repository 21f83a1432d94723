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
