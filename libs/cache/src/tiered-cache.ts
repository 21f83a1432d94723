import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { metric } from '@unstuck/observability';
import { SingleFlight } from '@unstuck/resilience';
import { decodeValue, encodeValue } from './codec';

/** A family of keys with one freshness policy, e.g. a wallet's stuck packets or a channel's statistics. */
export interface Keyspace {
  readonly name: string;
  /** Lifetime in Redis. */
  readonly ttlMs: number;
  /**
   * Lifetime in the in-process L1 (capped by ttlMs and by CACHE_L1_TTL_MS) while invalidations reach this instance;
   * 0 keeps this keyspace out of L1. See `invalidationFeed` for while they do not.
   */
  readonly l1TtlMs?: number;
  /**
   * XFetch early refresh: a hit is refreshed in the background with a probability that grows as expiry nears,
   * scaled by how long the loader took; 0 disables it, 1 is the textbook setting.
   */
  readonly earlyRefreshBeta?: number;
}

export interface TieredCacheOptions {
  l1MaxEntries: number;
  l1TtlMs: number;
  /** How old an L1 copy may be and still be served while invalidations do not reach this instance (default 5 s). */
  l1UnsyncedTtlMs?: number;
  compressThresholdBytes: number;
  lockTtlMs: number;
  /** Prefix of every Redis key; lets several environments share one Redis. */
  prefix: string;
  random?: () => number;
}

/** What Redis holds for a key: the value, how long it took to compute (ms), and when it expires (epoch ms). */
interface Envelope<T> {
  v: T;
  d: number;
  e: number;
}

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
export const INVALIDATION_CHANNEL = 'unstuck:cache:invalidate:v1';
const SEP = '\u0000';

/** Lookups and hits per keyspace, for the whole process (every TieredCache in it). */
const tallies = new Map<string, { hits: number; total: number }>();
/** The hit ratio, derived from the tallies when scraped rather than kept current on every lookup. */
const hitRatioGauge = () =>
  metric.gauge({
    name: 'cache_hit_ratio',
    help: 'share of lookups answered from L1 or Redis since start, by keyspace',
    labelNames: ['keyspace'],
    collect() {
      for (const [keyspace, t] of tallies) this.set({ keyspace }, t.hits / t.total);
    },
  });

/**
 * Cache-aside over two levels: an LRU in this process (L1) over Redis (L2).
 *
 * - One loader per key across every instance: concurrent misses in one process share a promise; across processes
 *   the first takes a short Redis lock and the others wait for its value.
 * - Probabilistic early refresh (XFetch) keeps hot keys from expiring under load.
 * - Invalidation deletes from Redis and tells every instance, over pub/sub, to drop the key from its L1.
 * - Redis is an optimisation, never a dependency: when it fails, callers get the loader's answer and the error
 *   is counted.
 */
export class TieredCache {
  /** L1 copies, with when each was stored (epoch ms). */
  private readonly l1: LRUCache<string, { value: unknown; at: number }>;
  /** Whether invalidations published by other instances reach this one; see `invalidationFeed`. */
  private synced = true;
  private readonly feedGauge = metric.gauge({
    name: 'cache_invalidation_feed_up',
    help: '1 while other instances’ cache invalidations reach this one (Redis pub/sub); 0 while not, when L1 copies are served for at most CACHE_L1_UNSYNCED_TTL_MS',
  });
  private readonly flights = new SingleFlight<unknown>();
  private readonly random: () => number;

  private readonly requests = metric.counter({
    name: 'cache_requests_total',
    help: 'cache lookups by keyspace and result (l1_hit, l2_hit, miss)',
    labelNames: ['keyspace', 'result'],
  });
  private readonly errors = metric.counter({
    name: 'cache_errors_total',
    help: 'Redis errors by keyspace and operation; the caller was served from the loader',
    labelNames: ['keyspace', 'operation'],
  });
  /** When each key was last invalidated (epoch ms): a load that started earlier must not be stored. */
  private readonly invalidatedAt: LRUCache<string, number>;
  private readonly loads = metric.counter({
    name: 'cache_loader_calls_total',
    help: 'loader calls by keyspace and reason (miss, early_refresh, lock_timeout)',
    labelNames: ['keyspace', 'reason'],
  });

  constructor(
    private readonly redis: Redis,
    private readonly options: TieredCacheOptions,
  ) {
    this.l1 = new LRUCache({ max: Math.max(1, options.l1MaxEntries), ttlAutopurge: false });
    this.random = options.random ?? Math.random;
    this.invalidatedAt = new LRUCache({ max: 100_000, ttl: Math.max(60_000, options.lockTtlMs * 4) });
    hitRatioGauge();
  }

  /** The value for `key`, loading and storing it when neither level has it. */
  async getOrLoad<T>(ks: Keyspace, key: string, loader: () => Promise<T>): Promise<T> {
    const held = this.peek<T>(ks, key);
    if (held) return held.value;
    return this.flights.do(this.redisKey(ks, key), async () => {
      const cached = await this.l2Get<T>(ks, key);
      if (cached) {
        this.count(ks, 'l2_hit');
        this.l1Set(ks, key, cached.v, cached.e);
        if (this.shouldRefreshEarly(ks, cached)) this.refreshInBackground(ks, key, loader);
        return cached.v;
      }
      this.count(ks, 'miss');
      return this.loadWithLock(ks, key, loader, 'miss');
    }) as Promise<T>;
  }

  /**
   * The value for `key` when this process holds it (L1), without waiting, counted as an L1 hit as `getOrLoad` would;
   * undefined otherwise (then `getOrLoad`, which counts the lookup itself). For callers that answer synchronously
   * when they can: a resolved promise still costs a trip through the microtask queue.
   */
  peek<T>(ks: Keyspace, key: string): { value: T } | undefined {
    const l1 = this.l1Get<T>(ks, key);
    if (!l1.hit) return undefined;
    this.count(ks, 'l1_hit');
    return l1;
  }

  async get<T>(ks: Keyspace, key: string): Promise<T | undefined> {
    const l1 = this.l1Get<T>(ks, key);
    if (l1.hit) return l1.value;
    return (await this.l2Get<T>(ks, key))?.v;
  }

  async set<T>(ks: Keyspace, key: string, value: T, computeMs = 0): Promise<void> {
    const expiresAt = Date.now() + ks.ttlMs;
    this.l1Set(ks, key, value, expiresAt);
    try {
      const buf = await encodeValue({ v: value, d: computeMs, e: expiresAt } satisfies Envelope<T>, this.options.compressThresholdBytes);
      await this.redis.set(this.redisKey(ks, key), buf, 'PX', ks.ttlMs);
    } catch {
      this.errors.inc({ keyspace: ks.name, operation: 'set' });
    }
  }

  /** Several keys in one round trip (a pipeline of GETs); keys absent from both levels are absent from the map. */
  async mget<T>(ks: Keyspace, keys: readonly string[]): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    const remote: string[] = [];
    for (const key of keys) {
      const l1 = this.l1Get<T>(ks, key);
      if (l1.hit) found.set(key, l1.value);
      else remote.push(key);
    }
    if (remote.length === 0) return found;
    try {
      const pipeline = this.redis.pipeline();
      for (const key of remote) pipeline.getBuffer(this.redisKey(ks, key));
      const results = (await pipeline.exec()) ?? [];
      await Promise.all(
        results.map(async ([err, buf], i) => {
          if (err || !buf) return;
          const env = await decodeValue<Envelope<T>>(buf as Buffer);
          found.set(remote[i]!, env.v);
          this.l1Set(ks, remote[i]!, env.v, env.e);
        }),
      );
    } catch {
      this.errors.inc({ keyspace: ks.name, operation: 'mget' });
    }
    return found;
  }

  /**
   * Drops the key everywhere: Redis, this L1, and (through pub/sub) every other instance's L1. A load of the key
   * already running is still answered to its callers but neither stored nor joined by later callers, so nothing
   * read before the invalidation outlives it.
   */
  async invalidate(ks: Keyspace, key: string): Promise<void> {
    this.forgetLocally(this.redisKey(ks, key));
    try {
      await this.redis.multi().del(this.redisKey(ks, key)).publish(INVALIDATION_CHANNEL, `${ks.name}${SEP}${key}`).exec();
    } catch {
      this.errors.inc({ keyspace: ks.name, operation: 'invalidate' });
    }
  }

  /**
   * Whether invalidations published by other instances reach this one (CacheModule reports its pub/sub
   * subscription; a TieredCache on its own assumes they do). While they do, an L1 copy lives for its keyspace's
   * l1TtlMs, since an invalidation anywhere removes it at once. While they do not (Redis down, the subscription
   * lost), only copies younger than l1UnsyncedTtlMs are served: that bounds how long an instance can show what
   * another instance invalidated. When the feed is back every copy is dropped: an invalidation may have been missed.
   */
  invalidationFeed(live: boolean): void {
    if (live && !this.synced) this.l1.clear();
    this.synced = live;
    this.feedGauge.set(live ? 1 : 0);
  }

  get invalidationFeedLive(): boolean {
    return this.synced;
  }

  /** Applies an invalidation message from another instance. */
  onInvalidationMessage(message: string): void {
    const i = message.indexOf(SEP);
    if (i > 0) this.forgetLocally(`${this.options.prefix}:${message.slice(0, i)}:${message.slice(i + 1)}`);
  }

  private forgetLocally(fullKey: string): void {
    this.l1.delete(fullKey);
    this.flights.forget(fullKey);
    this.invalidatedAt.set(fullKey, Date.now());
  }

  private count(ks: Keyspace, result: 'l1_hit' | 'l2_hit' | 'miss'): void {
    this.requests.inc({ keyspace: ks.name, result });
    const t = tallies.get(ks.name) ?? { hits: 0, total: 0 };
    t.total += 1;
    if (result !== 'miss') t.hits += 1;
    tallies.set(ks.name, t);
  }

  /** Memory-pressure shedder: drops the least recently used half of L1 (high) or all of it (critical). */
  shedL1(level: 'high' | 'critical'): number {
    const before = this.l1.size;
    if (level === 'critical') {
      this.l1.clear();
      return before;
    }
    const target = Math.floor(before / 2);
    let dropped = 0;
    for (const key of [...this.l1.rkeys()]) {
      if (dropped >= target) break;
      this.l1.delete(key);
      dropped += 1;
    }
    return dropped;
  }

  get l1Size(): number {
    return this.l1.size;
  }

  private redisKey(ks: Keyspace, key: string): string {
    return `${this.options.prefix}:${ks.name}:${key}`;
  }

  private l1Get<T>(ks: Keyspace, key: string): { hit: true; value: T } | { hit: false } {
    if (this.l1TtlFor(ks) <= 0) return { hit: false };
    const fullKey = this.redisKey(ks, key);
    const entry = this.l1.get(fullKey);
    if (!entry) return { hit: false };
    if (!this.synced && Date.now() - entry.at > (this.options.l1UnsyncedTtlMs ?? 5_000)) {
      this.l1.delete(fullKey);
      return { hit: false };
    }
    return { hit: true, value: entry.value as T };
  }

  private l1Set(ks: Keyspace, key: string, value: unknown, expiresAt: number): void {
    const ttl = Math.min(this.l1TtlFor(ks), expiresAt - Date.now());
    if (ttl > 0) this.l1.set(this.redisKey(ks, key), { value, at: Date.now() }, { ttl });
  }

  private l1TtlFor(ks: Keyspace): number {
    if (this.options.l1MaxEntries <= 0) return 0;
    return Math.min(ks.l1TtlMs ?? this.options.l1TtlMs, this.options.l1TtlMs, ks.ttlMs);
  }

  private async l2Get<T>(ks: Keyspace, key: string): Promise<Envelope<T> | undefined> {
    try {
      const buf = await this.redis.getBuffer(this.redisKey(ks, key));
      return buf ? await decodeValue<Envelope<T>>(buf) : undefined;
    } catch {
      this.errors.inc({ keyspace: ks.name, operation: 'get' });
      return undefined;
    }
  }

  private shouldRefreshEarly(ks: Keyspace, env: Envelope<unknown>): boolean {
    const beta = ks.earlyRefreshBeta ?? 1;
    if (beta <= 0) return false;
    // XFetch (Vattani et al.): refresh when now − δ·β·ln(rand) ≥ expiry; ln(rand) ≤ 0, so the gap grows with δ.
    return Date.now() - Math.max(env.d, 1) * beta * Math.log(Math.max(this.random(), Number.MIN_VALUE)) >= env.e;
  }

  private refreshInBackground<T>(ks: Keyspace, key: string, loader: () => Promise<T>): void {
    void this.flights
      .do(`refresh:${this.redisKey(ks, key)}`, () => this.loadWithLock(ks, key, loader, 'early_refresh', false))
      .catch(() => undefined);
  }

  /**
   * Loads under a Redis lock so one instance computes the value. Without the lock (another instance holds it)
   * this waits for that instance's value; if none appears within the lock's lifetime, it loads anyway.
   */
  private async loadWithLock<T>(ks: Keyspace, key: string, loader: () => Promise<T>, reason: string, wait = true): Promise<T> {
    const lockKey = `${this.redisKey(ks, key)}:lock`;
    const token = randomBytes(12).toString('base64url');
    let locked: boolean;
    try {
      locked = (await this.redis.set(lockKey, token, 'PX', this.options.lockTtlMs, 'NX')) === 'OK';
    } catch {
      this.errors.inc({ keyspace: ks.name, operation: 'lock' });
      return this.runLoader(ks, key, loader, reason, false);
    }
    if (locked) {
      try {
        return await this.runLoader(ks, key, loader, reason, true);
      } finally {
        await this.redis.eval(RELEASE_LOCK, 1, lockKey, token).catch(() => this.errors.inc({ keyspace: ks.name, operation: 'unlock' }));
      }
    }
    if (!wait) return (await this.l2Get<T>(ks, key))?.v as T;
    const deadline = Date.now() + this.options.lockTtlMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      const cached = await this.l2Get<T>(ks, key);
      if (cached) {
        this.l1Set(ks, key, cached.v, cached.e);
        return cached.v;
      }
    }
    return this.runLoader(ks, key, loader, 'lock_timeout', true);
  }

  private async runLoader<T>(ks: Keyspace, key: string, loader: () => Promise<T>, reason: string, store: boolean): Promise<T> {
    this.loads.inc({ keyspace: ks.name, reason });
    const startedAt = Date.now();
    const started = performance.now();
    const value = await loader();
    const computeMs = performance.now() - started;
    if ((this.invalidatedAt.get(this.redisKey(ks, key)) ?? 0) >= startedAt) return value;
    if (store) await this.set(ks, key, value, computeMs);
    else this.l1Set(ks, key, value, Date.now() + ks.ttlMs);
    return value;
  }
}
