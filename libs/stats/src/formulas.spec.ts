import {
  type CongestionInput,
  average,
  bucketOf,
  congestionScore,
  histogramOf,
  histogramQuantile,
  mergeHistograms,
  HISTOGRAM_SIZE,
  RELAY_TIME_BOUNDS_MS,
  reputationScore,
  successRate,
} from './formulas';

describe('relay-time histogram', () => {
  it('puts a duration in the first bucket whose upper bound holds it', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(250)).toBe(0);
    expect(bucketOf(251)).toBe(1);
    expect(bucketOf(RELAY_TIME_BOUNDS_MS[10]!)).toBe(10);
    expect(bucketOf(10 ** 12)).toBe(HISTOGRAM_SIZE - 1);
  });

  it('reads percentiles within the 25 % resolution of its buckets', () => {
    // 1..100 seconds, uniformly: the true p95 is 95 s, the median 50 s.
    const samples = Array.from({ length: 100 }, (_, i) => (i + 1) * 1000);
    const h = histogramOf(samples);
    const p95 = histogramQuantile(h, 0.95)!;
    const p50 = histogramQuantile(h, 0.5)!;
    expect(Math.abs(p95 - 95_000) / 95_000).toBeLessThan(0.25);
    expect(Math.abs(p50 - 50_000) / 50_000).toBeLessThan(0.25);
  });

  it('answers null for no samples and the lower bound of the open last bucket', () => {
    expect(histogramQuantile(histogramOf([]), 0.95)).toBeNull();
    expect(histogramQuantile(histogramOf([10 ** 12]), 0.95)).toBe(RELAY_TIME_BOUNDS_MS[RELAY_TIME_BOUNDS_MS.length - 1]);
  });

  it('merges like adding the samples, whatever the stored length', () => {
    const a = [1_000, 5_000, 80_000];
    const b = [300, 5_000];
    expect(mergeHistograms(histogramOf(a), histogramOf(b))).toEqual(histogramOf([...a, ...b]));
    expect(mergeHistograms([], histogramOf(b))).toEqual(histogramOf(b));
  });
});

describe('success rate and averages', () => {
  it('is successful acks over everything that finished, null before anything did', () => {
    expect(successRate(0, 0, 0)).toBeNull();
    expect(successRate(3, 3, 1)).toBe(75);
    expect(successRate(2, 3, 0)).toBe(66.67);
    expect(successRate(0, 0, 4)).toBe(0);
  });

  it('averages to whole milliseconds, null without samples', () => {
    expect(average(10, 3)).toBe(3);
    expect(average(0, 0)).toBeNull();
  });
});

describe('congestion score', () => {
  const base: CongestionInput = { pendingBacklog: 0, stuckCount: 0, completions: 0, avgClearTimeMs: null };

  it('is 0 for an idle channel and stays within 0–100 at the extremes', () => {
    expect(congestionScore(base)).toBe(0);
    const worst = congestionScore({ pendingBacklog: 10 ** 9, stuckCount: 10 ** 9, completions: 0, avgClearTimeMs: 10 ** 12 });
    expect(worst).toBeLessThanOrEqual(100);
    expect(worst).toBeGreaterThanOrEqual(99);
  });

  it('weighs backlog, stuck share and clear time as documented', () => {
    // backlog 50 vs 50 completions → 0.5·0.4; 10 of 50 stuck → 0.2·0.35; clear 10 min → 0.5·0.25
    expect(congestionScore({ pendingBacklog: 50, stuckCount: 10, completions: 50, avgClearTimeMs: 600_000 })).toBe(
      Math.round(100 * (0.4 * 0.5 + 0.35 * 0.2 + 0.25 * 0.5)),
    );
    // Nothing completes and everything waiting is stuck: at least 75.
    expect(congestionScore({ pendingBacklog: 20, stuckCount: 20, completions: 0, avgClearTimeMs: null })).toBe(75);
  });

  it('grows with the backlog, the stuck share and the clear time', () => {
    const at = (o: Partial<CongestionInput>) => congestionScore({ ...base, pendingBacklog: 10, completions: 10, ...o });
    expect(at({ pendingBacklog: 40 })).toBeGreaterThan(at({}));
    expect(at({ stuckCount: 5 })).toBeGreaterThan(at({}));
    expect(at({ avgClearTimeMs: 120_000 })).toBeGreaterThan(at({ avgClearTimeMs: 30_000 }));
  });

  it('clamps a stuck count above the backlog (gauges read at slightly different moments)', () => {
    expect(congestionScore({ ...base, pendingBacklog: 2, stuckCount: 5 })).toBe(congestionScore({ ...base, pendingBacklog: 2, stuckCount: 2 }));
  });
});

describe('reputation score', () => {
  it('is null without relays and within 0–100 otherwise', () => {
    expect(reputationScore({ relayed: 0, effected: 0, avgLatencyMs: null })).toBeNull();
    for (const [relayed, effected, latency] of [
      [1, 0, 10 ** 9],
      [1, 1, 0],
      [10 ** 6, 10 ** 6, 0],
      [10 ** 6, 0, 10 ** 9],
    ] as const) {
      const s = reputationScore({ relayed, effected, avgLatencyMs: latency })!;
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(100);
    }
  });

  it('follows the documented formula', () => {
    const relayed = 50;
    const effected = 40;
    const expected = Math.round(100 * (0.6 * (41 / 52) + 0.25 * (1 / (1 + 30_000 / 60_000)) + 0.15 * (1 - Math.exp(-0.5))));
    expect(reputationScore({ relayed, effected, avgLatencyMs: 30_000 })).toBe(expected);
  });

  it('ranks a relayer that wins above one that is always frontrun at the same volume and speed', () => {
    const winner = reputationScore({ relayed: 100, effected: 90, avgLatencyMs: 20_000 })!;
    const frontrun = reputationScore({ relayed: 100, effected: 5, avgLatencyMs: 20_000 })!;
    expect(winner).toBeGreaterThan(frontrun + 40);
  });

  it('does not give one lucky relay a perfect record', () => {
    expect(reputationScore({ relayed: 1, effected: 1, avgLatencyMs: 0 })!).toBeLessThan(
      reputationScore({ relayed: 500, effected: 500, avgLatencyMs: 0 })!,
    );
  });

  it('never drops with lower latency or more wins', () => {
    const at = (effected: number, latency: number) => reputationScore({ relayed: 80, effected, avgLatencyMs: latency })!;
    expect(at(60, 10_000)).toBeGreaterThanOrEqual(at(60, 90_000));
    expect(at(70, 30_000)).toBeGreaterThanOrEqual(at(60, 30_000));
  });
});
