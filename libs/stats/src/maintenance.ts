import { Logger } from '@nestjs/common';
import { rowsOf, type Database } from '@unstuck/db';
import { metric } from '@unstuck/observability';
import type { StatsEnv } from './env';

const PARTITIONED = ['packet_flow', 'packet_relays', 'stats_ledger'] as const;
export const MATERIALIZED_VIEWS = ['mv_user_statistics', 'hourly_packet_stats'] as const;

/** The database housekeeping the leader runs on a schedule: views, partitions, index and query reports. */
export class DatabaseMaintenance {
  private readonly logger = new Logger('DatabaseMaintenance');
  private readonly refreshSeconds = metric.histogram({
    name: 'stats_view_refresh_seconds',
    help: 'REFRESH MATERIALIZED VIEW CONCURRENTLY duration',
    labelNames: ['view'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
  });
  private readonly partitionsChanged = metric.counter({
    name: 'stats_partitions_changed_total',
    help: 'partitions created ahead or dropped past retention',
    labelNames: ['table', 'change'],
  });
  private readonly indexScans = metric.gauge({
    name: 'db_index_scans',
    help: 'scans of each non-unique index since statistics were reset (0 = unused)',
    labelNames: ['table', 'index'],
  });
  private readonly unusedIndexes = metric.gauge({ name: 'db_unused_indexes', help: 'non-unique indexes never scanned' });
  private readonly slowQueries = metric.gauge({
    name: 'db_query_mean_seconds',
    help: 'mean execution time of the slowest statements (pg_stat_statements)',
    labelNames: ['query_id'],
  });

  constructor(
    private readonly db: Database,
    private readonly env: StatsEnv,
  ) {}

  async refreshViews(): Promise<void> {
    for (const view of MATERIALIZED_VIEWS) {
      const end = this.refreshSeconds.startTimer({ view });
      await this.db.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${view}`);
      end();
    }
  }

  /** Partitions for yesterday to two weeks ahead; partitions past retention dropped (with their packets' keys). */
  async maintainPartitions(now = new Date()): Promise<{ created: number; dropped: number }> {
    const day = (offset: number) => new Date(now.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
    let created = 0;
    let dropped = 0;
    for (const table of PARTITIONED) {
      const [c] = await this.db.query<{ n: number }>(`SELECT ensure_daily_partitions($1, $2::date, $3::date) AS n`, [table, day(-1), day(14)]);
      created += c!.n;
      this.partitionsChanged.inc({ table, change: 'created' }, c!.n);
      const retention = table === 'stats_ledger' ? this.env.STATS_LEDGER_RETENTION_DAYS : this.env.PACKET_RETENTION_DAYS;
      if (retention === 0) continue;
      const [d] = await this.db.query<{ n: number }>(`SELECT drop_daily_partitions_before($1, $2::date) AS n`, [table, day(-retention)]);
      dropped += d!.n;
      this.partitionsChanged.inc({ table, change: 'dropped' }, d!.n);
      if (table === 'packet_flow' && d!.n > 0) {
        // Keys of packets whose rows are gone; in slices, so no single statement holds locks for long.
        for (;;) {
          const rows = rowsOf(
            await this.db.query(
              `DELETE FROM packet_keys WHERE ctid IN (SELECT ctid FROM packet_keys WHERE created_at < $1::date LIMIT 10000) RETURNING 1`,
              [day(-retention)],
            ),
          );
          if (rows.length < 10_000) break;
        }
      }
    }
    if (created + dropped > 0) this.logger.log(`partitions: ${created} created, ${dropped} dropped`);
    return { created, dropped };
  }

  /** Seed 004's monitoring functions, as logs and gauges. */
  async report(): Promise<{ unusedIndexes: string[]; slowQueries: number }> {
    const indexes = await this.db.query<{ table_name: string; index_name: string; index_scans: string; unused: boolean }>(
      `SELECT table_name, index_name, index_scans, unused FROM check_index_effectiveness()`,
    );
    this.indexScans.reset();
    for (const i of indexes) this.indexScans.set({ table: i.table_name, index: i.index_name }, Number(i.index_scans));
    const unused = indexes.filter((i) => i.unused).map((i) => i.index_name);
    this.unusedIndexes.set(unused.length);
    const slow = await this.db.query<{ query_id: string; calls: string; mean_ms: number; query: string }>(
      `SELECT query_id::text, calls, mean_ms, query FROM analyze_query_performance('%', 10)`,
    );
    this.slowQueries.reset();
    for (const q of slow) this.slowQueries.set({ query_id: q.query_id }, q.mean_ms / 1000);
    const overSecond = slow.filter((q) => q.mean_ms > 1000);
    for (const q of overSecond) {
      this.logger.warn(`slow query ${q.query_id}: mean ${q.mean_ms.toFixed(0)} ms over ${q.calls} calls: ${q.query.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
    if (unused.length > 0) this.logger.log(`indexes never scanned since the last statistics reset: ${unused.join(', ')}`);
    return { unusedIndexes: unused, slowQueries: overSecond.length };
  }
}
