import type { StatsUpdatedV1 } from '@unstuck/contracts';
import type { Database } from '@unstuck/db';
import type { EventPublisher, OutgoingEvent } from '@unstuck/messaging';

type Figures = StatsUpdatedV1['stats'];
const OVERLAP_MS = 5_000;

const toFigures = (row: Record<string, unknown>, skip: readonly string[]): Figures => {
  const out: Figures = {};
  for (const [k, v] of Object.entries(row)) {
    if (skip.includes(k)) continue;
    if (v === null || typeof v === 'number') out[k] = v;
    else if (v instanceof Date) out[k] = v.toISOString();
    else if (typeof v === 'object') out[k] = JSON.stringify(v);
    else out[k] = String(v);
  }
  return out;
};

/**
 * Publishes `stats.updated` for every statistics row that changed since the last run, at most once per row and
 * run (the leader runs it every STATS_PUBLISH_INTERVAL_MS: the throttle). Rows are found by updated_at with an
 * overlap, because a transaction may commit after a later one; a row already published at the same updated_at is
 * skipped, and the message id (scope, key, updated_at) makes a repeat a JetStream duplicate anyway.
 */
export class StatsUpdatesPublisher {
  private watermark = new Date(Date.now() - OVERLAP_MS);
  private published = new Map<string, string>();
  private platform: string | undefined;

  constructor(
    private readonly db: Database,
    private readonly publisher: EventPublisher,
  ) {}

  async run(): Promise<number> {
    const since = new Date(this.watermark.getTime() - OVERLAP_MS).toISOString();
    const [network, channel, relayer] = await Promise.all([
      this.db.query<Record<string, unknown>>(
        `SELECT chain_id, date::text AS date, packets_sent::float8 AS packets_sent, packets_received::float8 AS packets_received,
                packets_acknowledged::float8 AS packets_acknowledged, packets_timed_out::float8 AS packets_timed_out,
                success_rate::float8 AS success_rate, avg_relay_time_ms::float8 AS avg_relay_time_ms,
                p95_relay_time_ms::float8 AS p95_relay_time_ms, updated_at
           FROM network_stats WHERE updated_at > $1 ORDER BY updated_at`,
        [since],
      ),
      this.db.query<Record<string, unknown>>(
        `SELECT chain_id, channel_id, hour, counterparty_chain_id, counterparty_channel_id, packets_sent::float8 AS packets_sent,
                packets_received::float8 AS packets_received, packets_acknowledged::float8 AS packets_acknowledged,
                packets_timed_out::float8 AS packets_timed_out, success_rate::float8 AS success_rate,
                avg_clear_time_ms::float8 AS avg_clear_time_ms, pending_backlog::float8 AS pending_backlog,
                stuck_count::float8 AS stuck_count, congestion_score, updated_at
           FROM channel_performance WHERE updated_at > $1 ORDER BY updated_at`,
        [since],
      ),
      this.db.query<Record<string, unknown>>(
        `SELECT relayer_address, chain_id, date::text AS date, packets_relayed::float8 AS packets_relayed,
                packets_effected::float8 AS packets_effected, packets_frontrun::float8 AS packets_frontrun, frontrun_by,
                avg_latency_ms::float8 AS avg_latency_ms, reputation_score, updated_at
           FROM relayer_performance WHERE updated_at > $1 ORDER BY updated_at`,
        [since],
      ),
    ]);
    const events: OutgoingEvent[] = [];
    const add = (scope: StatsUpdatedV1['scope'], key: string, periodStart: string, row: Record<string, unknown>, skip: string[]) => {
      const updatedAt = (row.updated_at as Date).toISOString();
      if (this.published.get(`${scope}|${key}|${periodStart}`) === updatedAt) return;
      this.published.set(`${scope}|${key}|${periodStart}`, updatedAt);
      if ((row.updated_at as Date) > this.watermark) this.watermark = row.updated_at as Date;
      events.push({ event: 'stats.updated', payload: { scope, key, period_start: periodStart, stats: toFigures(row, skip), updated_at: updatedAt } });
    };
    const day = (d: unknown) => new Date(`${d as string}T00:00:00Z`).toISOString();
    for (const r of network) add('network', r.chain_id as string, day(r.date), r, ['chain_id', 'date', 'updated_at']);
    for (const r of channel) {
      add('channel', `${r.chain_id as string}/${r.channel_id as string}`, (r.hour as Date).toISOString(), r, ['chain_id', 'channel_id', 'hour', 'updated_at']);
    }
    for (const r of relayer) add('relayer', r.relayer_address as string, day(r.date), r, ['relayer_address', 'date', 'updated_at']);
    // Forget rows whose last publication fell out of the overlap window.
    const horizon = new Date(this.watermark.getTime() - 2 * OVERLAP_MS).toISOString();
    for (const [k, at] of this.published) if (at < horizon) this.published.delete(k);
    if (events.length > 0) await this.publisher.publishBatch(events);
    return events.length;
  }

  /** Publishes the platform snapshot when it changed. */
  async publishPlatform(stats: Figures, updatedAt: string): Promise<boolean> {
    const body = JSON.stringify(stats);
    if (body === this.platform) return false;
    await this.publisher.publishBatch([
      { event: 'stats.updated', payload: { scope: 'platform', key: 'all', period_start: '1970-01-01T00:00:00.000Z', stats, updated_at: updatedAt } },
    ]);
    this.platform = body;
    return true;
  }
}
