import { SharedCounter } from '@unstuck/cache';
import { toErrorResponse } from './errors';
import { countRequest, rateHeaders, rateLimited } from './rate-limit';

describe('rate limits', () => {
  const settings = { RATE_LIMIT_WINDOW_MS: 60_000, RATE_LIMIT_PER_IP: 3, RATE_LIMIT_PER_WALLET: 2 };
  const clock = { t: 5_000_000 };
  let counter: SharedCounter;
  beforeEach(() => {
    // One replica alone, syncing only when closed (the shared sums are SharedCounter's own tests).
    const totals = new Map<string, number>();
    const remote = { add: async (batch: Array<{ key: string; delta: number; windowMs: number }>) => batch.map((b) => ({ total: totals.set(b.key, (totals.get(b.key) ?? 0) + b.delta).get(b.key)!, ttlMs: b.windowMs })) };
    counter = new SharedCounter(remote, { syncIntervalMs: 600_000, maxKeys: 100, now: () => clock.t });
  });
  afterEach(() => counter.close());

  it('counts an address against the per-IP limit and says what is left, then refuses with a 429 saying when to retry', () => {
    const caller = { ip: '203.0.113.7' };
    const verdicts = Array.from({ length: 4 }, () => countRequest(counter, settings, caller));
    expect(verdicts.map((v) => [v.key, v.limit, v.remaining, v.exceeded])).toEqual([
      ['ip:203.0.113.7', 3, 2, false],
      ['ip:203.0.113.7', 3, 1, false],
      ['ip:203.0.113.7', 3, 0, false],
      ['ip:203.0.113.7', 3, 0, true],
    ]);
    clock.t += 20_500;
    const refused = countRequest(counter, settings, caller);
    expect(refused.resetSeconds).toBe(40); // 39.5 s left, rounded up
    const answer = toErrorResponse(rateLimited(refused, settings));
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('40');
    expect(answer.body.error).toEqual({ code: 'rate_limited', message: 'rate limit of 3 requests per 60 s reached; retry after 40 s' });
    // Another address has its own window.
    expect(countRequest(counter, settings, { ip: '203.0.113.8' }).remaining).toBe(2);
  });

  it('counts a signed-in caller against its wallet, whatever address it calls from', () => {
    const wallet = { ip: '198.51.100.1', auth: { wallet: 'cosmos1xyz' } } as unknown as Parameters<typeof countRequest>[2];
    const elsewhere = { ...wallet, ip: '198.51.100.2' };
    expect(countRequest(counter, settings, wallet)).toMatchObject({ key: 'w:cosmos1xyz', limit: 2, remaining: 1, exceeded: false });
    expect(countRequest(counter, settings, elsewhere)).toMatchObject({ key: 'w:cosmos1xyz', remaining: 0, exceeded: false });
    expect(countRequest(counter, settings, wallet).exceeded).toBe(true);
    // The address itself is not charged for the wallet's requests.
    expect(countRequest(counter, settings, { ip: '198.51.100.1' }).remaining).toBe(2);
  });
});

describe('rate-limit headers', () => {
  const verdict = (remaining: number, exceeded = false) => ({ key: 'ip:x', limit: 600, remaining, resetSeconds: 42, exceeded });

  it('are sent once half the quota is used, and on every refusal', () => {
    expect(rateHeaders(verdict(599))).toBeUndefined();
    expect(rateHeaders(verdict(301))).toBeUndefined();
    expect(rateHeaders(verdict(300))).toEqual({ 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '300', 'x-ratelimit-reset': '42' });
    expect(rateHeaders(verdict(0, true))).toEqual({ 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '42' });
  });
});
