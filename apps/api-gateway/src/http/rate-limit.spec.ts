import { SharedCounter } from '@unstuck/cache';
import { toErrorResponse } from './errors';
import { clientKey, countRequest, rateHeaders, rateLimited } from './rate-limit';

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

  it('counts a signed-in caller against its wallet, whatever address it calls from, and against its address too', () => {
    const wallet = { ip: '198.51.100.1', auth: { wallet: 'cosmos1xyz' } } as unknown as Parameters<typeof countRequest>[2];
    const elsewhere = { ...wallet, ip: '198.51.100.2' };
    expect(countRequest(counter, settings, wallet)).toMatchObject({ key: 'w:cosmos1xyz', limit: 2, remaining: 1, exceeded: false });
    expect(countRequest(counter, settings, elsewhere)).toMatchObject({ key: 'w:cosmos1xyz', remaining: 0, exceeded: false });
    expect(countRequest(counter, settings, wallet).exceeded).toBe(true);
    // The address was charged for the wallet's two requests from it: one left of its 3.
    expect(countRequest(counter, settings, { ip: '198.51.100.1' })).toMatchObject({ key: 'ip:198.51.100.1', remaining: 0, exceeded: false });
  });

  it('never lets a sign-in token lift the per-address limit: fresh wallets from one address are refused once the address is spent', () => {
    const from = (w: string) => ({ ip: '192.0.2.50', auth: { wallet: w } }) as unknown as Parameters<typeof countRequest>[2];
    const verdicts = ['cosmos1a', 'cosmos1b', 'cosmos1c', 'cosmos1d'].map((w) => countRequest(counter, settings, from(w)));
    expect(verdicts.map((v) => v.exceeded)).toEqual([false, false, false, true]);
    expect(verdicts[3]).toMatchObject({ key: 'ip:192.0.2.50', limit: 3 });
  });

  it('limits an IPv6 client by its /64, however it varies the rest of its address', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9');
    const hits = ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:1:2:3:4', '2001:db8:1:2::c'].map((ip) => countRequest(counter, settings, { ip }));
    expect(hits.map((v) => v.exceeded)).toEqual([false, false, false, true]);
    expect(countRequest(counter, settings, { ip: '2001:db8:1:3::a' }).exceeded).toBe(false);
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
