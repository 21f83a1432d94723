/**
 * The pure rules behind the derived statistics. Every derived column is recomputed from raw sums with these
 * functions after each increment, so a figure never drifts from the counts it summarises. docs/stats.md states
 * the same formulas for readers of the API.
 */

/**
 * Relay-time histogram bounds (ms): bucket i holds durations in (bound[i-1], bound[i]], the last bucket everything
 * above. Geometric (×1.25 from 250 ms to about 36 h), so a percentile read from it is within 25 % of the truth at
 * any scale, in a fixed 61 integers per row (what Prometheus does with its histograms, at finer resolution).
 */
export const RELAY_TIME_BOUNDS_MS: readonly number[] = Array.from({ length: 60 }, (_, i) => Math.round(250 * 1.25 ** i));
export const HISTOGRAM_SIZE = RELAY_TIME_BOUNDS_MS.length + 1;

export function bucketOf(ms: number): number {
  let lo = 0;
  let hi = RELAY_TIME_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= RELAY_TIME_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Element-wise sum; a shorter (or empty, as stored before the first sample) histogram counts as zeros. */
export function mergeHistograms(a: readonly number[], b: readonly number[]): number[] {
  return Array.from({ length: HISTOGRAM_SIZE }, (_, i) => (a[i] ?? 0) + (b[i] ?? 0));
}

export function histogramOf(samplesMs: readonly number[]): number[] {
  const h = new Array<number>(HISTOGRAM_SIZE).fill(0);
  for (const ms of samplesMs) h[bucketOf(ms)]! += 1;
  return h;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, interpolated linearly inside the bucket it falls in; the open last
 * bucket answers its lower bound. null for an empty histogram.
 */
export function histogramQuantile(h: readonly number[], q: number): number | null {
  const total = h.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    const n = h[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : RELAY_TIME_BOUNDS_MS[i - 1]!;
      if (i >= RELAY_TIME_BOUNDS_MS.length) return lower;
      const upper = RELAY_TIME_BOUNDS_MS[i]!;
      return Math.round(lower + ((rank - seen) / n) * (upper - lower));
    }
    seen += n;
  }
  return RELAY_TIME_BOUNDS_MS[RELAY_TIME_BOUNDS_MS.length - 1]!;
}

export function average(sum: number, count: number): number | null {
  return count > 0 ? Math.round(sum / count) : null;
}

/**
 * Share of finished packets that finished well, 0–100 with two decimals: successful acknowledgements over
 * acknowledgements plus timeouts. null until something finished.
 */
export function successRate(acksSuccessful: number, acknowledged: number, timedOut: number): number | null {
  const finished = acknowledged + timedOut;
  if (finished === 0) return null;
  return Math.round((10_000 * Math.min(acksSuccessful, finished)) / finished) / 100;
}

export interface CongestionInput {
  /** Packets sent on the channel and not yet acknowledged or timed out. */
  pendingBacklog: number;
  /** Of those, the ones judged stuck. */
  stuckCount: number;
  /** Packets acknowledged or timed out in the hour. */
  completions: number;
  /** Average send → ack/timeout time of the hour's completions. */
  avgClearTimeMs: number | null;
}

/** Clear time at which the slowness term reaches one half. */
export const CONGESTION_CLEAR_TIME_HALF_MS = 10 * 60_000;

/**
 * Congestion score 0–100 of a channel for an hour:
 *
 *   100 × (0.40 · backlog/(backlog + completions)   — how much is waiting compared with what gets through
 *        + 0.35 · stuck/backlog                     — how much of what waits is stuck
 *        + 0.25 · clear/(clear + 10 min))           — how slow what gets through is
 *
 * Each term lies in [0, 1) or [0, 1], so the score is bounded without clamping tricks; an idle channel scores 0;
 * a channel where nothing completes and everything waiting is stuck scores at least 75.
 */
export function congestionScore(input: CongestionInput): number {
  const backlog = Math.max(0, input.pendingBacklog);
  const completions = Math.max(0, input.completions);
  const waiting = backlog + completions === 0 ? 0 : backlog / (backlog + completions);
  const stuck = backlog === 0 ? 0 : Math.min(1, Math.max(0, input.stuckCount) / backlog);
  const clear = input.avgClearTimeMs === null ? 0 : Math.max(0, input.avgClearTimeMs);
  const slowness = clear / (clear + CONGESTION_CLEAR_TIME_HALF_MS);
  return Math.min(100, Math.max(0, Math.round(100 * (0.4 * waiting + 0.35 * stuck + 0.25 * slowness))));
}

export interface ReputationInput {
  /** Relay messages the relayer submitted (won or frontrun). */
  relayed: number;
  /** Of those, the ones that took effect on chain. */
  effected: number;
  /** Average latency of its effected relays. */
  avgLatencyMs: number | null;
}

/** Latency at which the speed term reaches one half. */
export const REPUTATION_LATENCY_HALF_MS = 60_000;
/** Relays after which the volume term reaches 1 − 1/e. */
export const REPUTATION_VOLUME_SCALE = 100;

/**
 * Reputation score 0–100 of a relayer for a day:
 *
 *   100 × (0.60 · (effected + 1)/(relayed + 2)      — win rate, smoothed so one lucky relay is not a perfect record
 *        + 0.25 · 1/(1 + latency/60 s)              — speed of its effected relays (0.5 when unknown)
 *        + 0.15 · (1 − e^(−relayed/100)))           — confidence from volume
 *
 * null for a relayer with no relays. More wins at the same volume, lower latency, or more volume at the same win
 * rate never lower the score.
 */
export function reputationScore(input: ReputationInput): number | null {
  if (input.relayed <= 0) return null;
  const relayed = input.relayed;
  const effected = Math.min(Math.max(0, input.effected), relayed);
  const winRate = (effected + 1) / (relayed + 2);
  const speed = input.avgLatencyMs === null ? 0.5 : 1 / (1 + Math.max(0, input.avgLatencyMs) / REPUTATION_LATENCY_HALF_MS);
  const volume = 1 - Math.exp(-relayed / REPUTATION_VOLUME_SCALE);
  return Math.min(100, Math.max(0, Math.round(100 * (0.6 * winRate + 0.25 * speed + 0.15 * volume))));
}
