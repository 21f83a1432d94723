import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const PREFIX = 'unstuck:notifier:v2:';
const INSTANCES = `${PREFIX}instances`;

/**
 * Open connections per client address across every notifier instance, that cannot leak: each instance writes only
 * its own counts (`<prefix>conn:<instance>:<ip>`), with a TTL its heartbeat renews, and lists itself in a sorted set
 * scored by its last heartbeat. An instance that dies (kill -9, lost node) stops renewing: within `ttlMs` its
 * counts expire and it drops out of the set, so its clients' addresses are free again. A refused attempt writes
 * nothing: it neither counts nor extends anything.
 *
 * Two instances admitting the same address at the same moment may each see the other's count before its write:
 * the limit can be passed by one connection per instance in that instant, never more.
 */
export class ConnectionCounts {
  readonly instance = randomUUID();
  private readonly local = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly limit: number,
    private readonly ttlMs = 30_000,
  ) {}

  /** Starts the heartbeat (every third of the TTL). */
  start(): void {
    void this.heartbeat().catch(() => undefined);
    this.timer = setInterval(() => void this.heartbeat().catch(() => undefined), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const tx = this.redis.multi().zrem(INSTANCES, this.instance);
    if (this.local.size) tx.del(...[...this.local.keys()].map((ip) => this.key(this.instance, ip)));
    await tx.exec().catch(() => undefined);
  }

  /**
   * Admits one connection from `ip` when the address has fewer than the limit open across live instances; false
   * (and nothing written) otherwise. Throws when Redis cannot be asked.
   */
  async admit(ip: string): Promise<boolean> {
    const now = Date.now();
    const others = (await this.redis.zrangebyscore(INSTANCES, now - this.ttlMs, '+inf')).filter((id) => id !== this.instance);
    const counts = others.length ? await this.redis.mget(...others.map((id) => this.key(id, ip))) : [];
    const mine = this.local.get(ip) ?? 0;
    const total = mine + counts.reduce((sum, c) => sum + (Number(c) || 0), 0);
    if (total >= this.limit) return false;
    this.local.set(ip, mine + 1);
    await this.redis.set(this.key(this.instance, ip), String(mine + 1), 'PX', this.ttlMs);
    return true;
  }

  /** One admitted connection from `ip` closed. */
  async release(ip: string): Promise<void> {
    const left = (this.local.get(ip) ?? 1) - 1;
    if (left > 0) this.local.set(ip, left);
    else this.local.delete(ip);
    await (left > 0 ? this.redis.set(this.key(this.instance, ip), String(left), 'PX', this.ttlMs) : this.redis.del(this.key(this.instance, ip)));
  }

  /** This instance is alive, with these counts; instances silent for a TTL are forgotten. */
  async heartbeat(): Promise<void> {
    const now = Date.now();
    const tx = this.redis.multi().zadd(INSTANCES, now, this.instance).zremrangebyscore(INSTANCES, '-inf', now - this.ttlMs);
    for (const [ip, n] of this.local) tx.set(this.key(this.instance, ip), String(n), 'PX', this.ttlMs);
    await tx.exec();
  }

  private key(instance: string, ip: string): string {
    return `${PREFIX}conn:${instance}:${ip}`;
  }
}
