import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '@unstuck/cache';
import { Database, isConnectionError, type ReadPreference } from '@unstuck/db';
import { metric } from '@unstuck/observability';
import { createBreaker } from '@unstuck/resilience';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';

const RYW_PREFIX = 'unstuck:ryw:v1:';

/**
 * The gateway's way to the database.
 *
 * - Every query goes through one circuit breaker: when the database fails, requests get a 503 with Retry-After at
 *   once instead of each waiting out a connection timeout. Only failures of the database itself count (a query
 *   error caused by the caller's input does not open it).
 * - Read routing: lists and statistics from the replica while it is within REPLICA_MAX_LAG_MS (the Database decides);
 *   a wallet whose data just changed reads from the primary for READ_YOUR_WRITES_SECONDS (a Redis marker shared by
 *   every replica of the gateway). When Redis cannot say, the wallet reads from the primary: correct over cheap.
 */
@Injectable()
export class GatewayDb {
  private readonly fire: (sql: string, params: unknown[], preference: ReadPreference, name?: string) => Promise<unknown[]>;
  private readonly routed = metric.counter({
    name: 'gateway_read_routing_total',
    help: 'wallet-scoped reads by the preference chosen (replica, or primary for read-your-writes)',
    labelNames: ['preference', 'reason'],
  });

  constructor(
    @Inject(Database) private readonly db: Database,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_ENV) private readonly env: AppEnv,
  ) {
    this.fire = createBreaker(
      'database',
      (sql: string, params: unknown[], preference: ReadPreference, name?: string) =>
        name ? this.db.queryNamed(name, sql, params, preference) : this.db.query(sql, params, preference),
      {
      timeoutMs: false,
      errorThresholdPercentage: env.DB_BREAKER_ERROR_PERCENT,
      resetTimeoutMs: env.DB_BREAKER_RESET_MS,
      volumeThreshold: 3,
        isCallerError: (e) => !isConnectionError(e),
      },
    ).fire;
  }

  query<T>(sql: string, params: unknown[], preference: ReadPreference): Promise<T[]> {
    return this.fire(sql, params, preference) as Promise<T[]>;
  }

  /** A hot query as a named prepared statement (planned once per connection; see Database.queryNamed). */
  queryNamed<T>(name: string, sql: string, params: unknown[], preference: ReadPreference): Promise<T[]> {
    return this.fire(sql, params, preference, name) as Promise<T[]>;
  }

  /** Where a read of this wallet's data goes now. */
  async preferenceFor(wallet: string): Promise<ReadPreference> {
    try {
      const marked = await this.redis.exists(RYW_PREFIX + wallet);
      this.routed.inc({ preference: marked ? 'primary' : 'replica', reason: marked ? 'recent_write' : 'none' });
      return marked ? 'primary' : 'replica';
    } catch {
      this.routed.inc({ preference: 'primary', reason: 'redis_unavailable' });
      return 'primary';
    }
  }

  /** Marks wallets as just written: their reads go to the primary until the replica has certainly caught up. */
  async markWritten(wallets: Iterable<string>): Promise<void> {
    if (this.env.READ_YOUR_WRITES_SECONDS <= 0) return;
    const pipeline = this.redis.pipeline();
    let n = 0;
    for (const w of wallets) {
      pipeline.set(RYW_PREFIX + w, '1', 'EX', this.env.READ_YOUR_WRITES_SECONDS);
      n += 1;
    }
    if (n > 0) await pipeline.exec().catch(() => undefined);
  }
}
