import type { Redis } from 'ioredis';

/** One key's additions since the last sync, and the window they count in. */
export interface CounterAddition {
  key: string;
  delta: number;
  windowMs: number;
}

/** Where replicas' counts meet: adds each delta to its key's window and answers the window's total and time left. */
export interface CounterRemote {
  add(batch: CounterAddition[]): Promise<{ total: number; ttlMs: number }[]>;
}

export interface SharedCounterOptions {
  /** How often local additions are sent to the remote (ms). Bounds what one replica has not yet seen of the others. */
  syncIntervalMs: number;
  /** Most keys held locally; beyond it the oldest windows are dropped (their remote counts stay). */
  maxKeys: number;
  /** Told when a sync fails (the counts then stay local until the remote answers again). */
  onSyncError?: (error: unknown) => void;
  now?: () => number;
}

interface Window {
  /** The remote total at the last sync, which includes our own additions up to then. */
  known: number;
  /** Counted here and not yet sent. */
  pending: number;
  /** Sent, reply awaited. */
  inflight: number;
  expiresAt: number;
}

/**
 * Fixed-window counters shared by replicas without a remote round trip per count: a count is answered at once from
 * the last known remote total plus what this replica added since, and the additions are sent in one pipelined batch
 * every `syncIntervalMs`. One replica alone counts exactly; replicas together may each miss up to one sync interval
 * of the others' additions. A replica learns the others' counts for a key when it sends its own. If the remote fails,
 * each replica still counts what it sees, and sends it once the remote is back.
 */
export class SharedCounter {
  private readonly windows = new Map<string, Window>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly remote: CounterRemote,
    private readonly options: SharedCounterOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Counts one more for `key` and answers the window's count so far (every replica's, as far as known) and ms left. */
  increment(key: string, windowMs: number): { current: number; ttlMs: number } {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || w.expiresAt <= now) {
      if (w) this.windows.delete(key);
      else if (this.windows.size >= this.options.maxKeys) this.evictOldest();
      w = { known: 0, pending: 0, inflight: 0, expiresAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.pending++;
    this.dirty.add(key);
    this.schedule();
    return { current: w.known + w.inflight + w.pending, ttlMs: w.expiresAt - now };
  }

  /** Sends what is pending now (also run by the timer). */
  sync(): Promise<void> {
    this.syncing ??= this.send().finally(() => {
      this.syncing = undefined;
      if (this.dirty.size) this.schedule();
    });
    return this.syncing;
  }

  /** Sends what is pending and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncing;
    await this.send();
  }

  get size(): number {
    return this.windows.size;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, this.options.syncIntervalMs);
    this.timer.unref();
  }

  private async send(): Promise<void> {
    if (!this.dirty.size) return;
    const now = this.now();
    const sent: { key: string; w: Window; delta: number }[] = [];
    for (const key of this.dirty) {
      const w = this.windows.get(key);
      if (!w || w.pending === 0 || w.expiresAt <= now) continue;
      sent.push({ key, w, delta: w.pending });
      w.inflight += w.pending;
      w.pending = 0;
    }
    this.dirty.clear();
    if (!sent.length) return;
    let answers: { total: number; ttlMs: number }[];
    try {
      answers = await this.remote.add(sent.map(({ key, w, delta }) => ({ key, delta, windowMs: Math.max(1, w.expiresAt - now) })));
    } catch (error) {
      // Not applied (as far as we know): still counted here, so this replica's own limit holds, and sent again later.
      for (const s of sent) {
        s.w.inflight -= s.delta;
        s.w.pending += s.delta;
        this.dirty.add(s.key);
      }
      this.options.onSyncError?.(error);
      return;
    }
    const at = this.now();
    sent.forEach(({ key, w, delta }, i) => {
      w.inflight -= delta;
      if (this.windows.get(key) !== w) return; // expired meanwhile
      const { total, ttlMs } = answers[i]!;
      // The remote's window is the shared one: its total includes our additions, its expiry is everyone's.
      w.known = total;
      w.expiresAt = at + Math.max(0, ttlMs);
    });
  }

  /** Makes room: expired windows and windows with nothing on the way go first (their counts live on in the remote). */
  private evictOldest(): void {
    const now = this.now();
    for (const [key, w] of this.windows) {
      if (this.windows.size < this.options.maxKeys) return;
      if (w.expiresAt <= now || (!w.pending && !w.inflight)) this.windows.delete(key);
    }
    if (this.windows.size >= this.options.maxKeys) this.windows.delete(this.windows.keys().next().value!);
  }
}

const ADD_SCRIPT = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {total, ttl}`;

/** The remote for `SharedCounter` in Redis: one key per window, created with its expiry, all additions in one pipeline. */
export function redisCounterRemote(redis: Redis, prefix: string): CounterRemote {
  const sha = 'unstuckSharedCounterAdd';
  if (!(sha in redis)) redis.defineCommand(sha, { numberOfKeys: 1, lua: ADD_SCRIPT });
  return {
    async add(batch) {
      const pipeline = redis.pipeline();
      for (const a of batch) (pipeline as unknown as Record<string, (...args: unknown[]) => void>)[sha]!(prefix + a.key, a.delta, a.windowMs);
      const results = (await pipeline.exec()) ?? [];
      return results.map(([err, value]) => {
        if (err) throw err;
        const [total, ttlMs] = value as [number, number];
        return { total, ttlMs };
      });
    },
  };
}
