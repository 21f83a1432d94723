import { Inject, Injectable } from '@nestjs/common';
import { TieredCache, type Keyspace } from '@unstuck/cache';
import { average, histogramQuantile, reputationScore, successRate } from '@unstuck/stats';
import { GatewayDb } from '../data/gateway-db';
import { ApiError } from '../http/errors';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';

export interface RangeQuery {
  from?: string;
  to?: string;
  chain_id?: string;
}

/** A resolved time range: whole UTC days for daily tables, hours for hourly ones. */
interface Range {
  from: Date;
  to: Date;
}

const DAY_MS = 86_400_000;
/** The widest range one request may aggregate. */
export const MAX_RANGE_DAYS = 366;

const n = (v: string | number | null | undefined) => (v === null || v === undefined ? 0 : Number(v));

/**
 * Statistics over a time range, from the tables the stats aggregator keeps. Rates, averages and percentiles of
 * a range are recomputed from the raw sums (never averaged averages), with the same formulas as the aggregator.
 * Read from the replica and cached briefly; channel statistics for 15 minutes.
 */
@Injectable()
export class StatsService {
  readonly keyspaces: { platform: Keyspace; networks: Keyspace; channels: Keyspace; relayers: Keyspace };

  constructor(
    @Inject(GatewayDb) private readonly db: GatewayDb,
    @Inject(TieredCache) private readonly cache: TieredCache,
    @Inject(GATEWAY_ENV) env: AppEnv,
  ) {
    const short = env.CACHE_STATS_TTL_SECONDS * 1000;
    this.keyspaces = {
      platform: { name: 'stats-platform', ttlMs: Math.min(short, 10_000), l1TtlMs: 2_000 },
      networks: { name: 'stats-networks', ttlMs: short, l1TtlMs: 5_000 },
      channels: { name: 'stats-channels', ttlMs: env.CACHE_CHANNEL_STATS_TTL_SECONDS * 1000, l1TtlMs: 30_000 },
      relayers: { name: 'stats-relayers', ttlMs: short, l1TtlMs: 5_000 },
    };
  }

  /** Resolves from/to (defaults: the last 7 days up to now); a range the wrong way round or too wide is a 400. */
  range(q: RangeQuery): Range {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * DAY_MS);
    if (from > to) throw ApiError.badRequest('invalid_range', `query parameter "from" (${from.toISOString()}) is after "to" (${to.toISOString()})`, { parameter: 'from' });
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
      throw ApiError.badRequest('invalid_range', `the range from "from" to "to" spans more than ${MAX_RANGE_DAYS} days`, { parameter: 'to' });
    }
    return { from, to };
  }

  platform(): Promise<{ stats: Record<string, unknown>; updated_at: string | null }> {
    return this.cache.getOrLoad(this.keyspaces.platform, 'all', async () => {
      const [row] = await this.db.query<{ stats: Record<string, unknown>; updated_at: Date }>(`SELECT stats, updated_at FROM platform_stats WHERE scope = 'all'`, [], 'replica');
      return { stats: row?.stats ?? {}, updated_at: row ? row.updated_at.toISOString() : null };
    });
  }

  networks(q: RangeQuery) {
    const r = this.range(q);
    const days = dayBounds(r);
    return this.cache.getOrLoad(this.keyspaces.networks, cacheKey(days.from, days.to, q.chain_id), async () => {
      const rows = await this.db.query<Record<string, string | null> & { histogram: string[] | null }>(
        `SELECT chain_id, sum(packets_sent)::text AS sent, sum(packets_received)::text AS received,
                sum(packets_acknowledged)::text AS acknowledged, sum(packets_timed_out)::text AS timed_out,
                sum(acks_successful)::text AS acks_successful, sum(relay_time_count)::text AS relay_count,
                sum(relay_time_sum_ms)::text AS relay_sum_ms,
                (SELECT array_agg(s::text ORDER BY i) FROM (
                   SELECT i, sum(v) AS s FROM network_stats n2, unnest(n2.relay_time_histogram) WITH ORDINALITY AS h(v, i)
                    WHERE n2.chain_id = n.chain_id AND n2.date BETWEEN $1 AND $2 GROUP BY i) b) AS histogram,
                max(updated_at) AS updated_at
           FROM network_stats n
          WHERE date BETWEEN $1 AND $2 AND ($3::text IS NULL OR chain_id = $3)
          GROUP BY chain_id ORDER BY sum(packets_sent) DESC, chain_id`,
        [days.from, days.to, q.chain_id ?? null],
        'replica',
      );
      return {
        from: days.from,
        to: days.to,
        networks: rows.map((x) => {
          const relays = n(x.relay_count);
          return {
            chain_id: x.chain_id!,
            packets_sent: n(x.sent),
            packets_received: n(x.received),
            packets_acknowledged: n(x.acknowledged),
            packets_timed_out: n(x.timed_out),
            success_rate: successRate(n(x.acks_successful), n(x.acknowledged), n(x.timed_out)),
            avg_relay_time_ms: average(n(x.relay_sum_ms), relays),
            p95_relay_time_ms: x.histogram ? histogramQuantile(x.histogram.map(Number), 0.95) : null,
            updated_at: x.updated_at ? new Date(x.updated_at).toISOString() : null,
          };
        }),
      };
    });
  }

  channels(q: RangeQuery & { limit?: number }) {
    const r = this.range(q);
    const from = new Date(Math.floor(r.from.getTime() / 3_600_000) * 3_600_000).toISOString();
    const to = new Date(Math.floor(r.to.getTime() / 3_600_000) * 3_600_000).toISOString();
    return this.cache.getOrLoad(this.keyspaces.channels, cacheKey(from, to, q.chain_id, q.limit), async () => {
      const rows = await this.db.query<Record<string, string | null>>(
        `SELECT chain_id, channel_id, max(counterparty_chain_id) AS counterparty_chain_id, max(counterparty_channel_id) AS counterparty_channel_id,
                sum(packets_sent)::text AS sent, sum(packets_received)::text AS received,
                sum(packets_acknowledged)::text AS acknowledged, sum(packets_timed_out)::text AS timed_out,
                sum(acks_successful)::text AS acks_successful, sum(clear_time_count)::text AS clear_count, sum(clear_time_sum_ms)::text AS clear_sum_ms,
                (array_agg(pending_backlog ORDER BY hour DESC))[1]::text AS pending_backlog,
                (array_agg(stuck_count ORDER BY hour DESC))[1]::text AS stuck_count,
                (array_agg(congestion_score ORDER BY hour DESC))[1]::text AS congestion_score,
                max(hour) AS latest_hour, max(updated_at) AS updated_at
           FROM channel_performance
          WHERE hour BETWEEN $1 AND $2 AND ($3::text IS NULL OR chain_id = $3)
          GROUP BY chain_id, channel_id
          ORDER BY (array_agg(congestion_score ORDER BY hour DESC))[1] DESC NULLS LAST, sum(packets_sent) DESC, chain_id, channel_id
          LIMIT $4`,
        [from, to, q.chain_id ?? null, q.limit ?? 500],
        'replica',
      );
      return {
        from,
        to,
        channels: rows.map((x) => ({
          chain_id: x.chain_id!,
          channel_id: x.channel_id!,
          counterparty_chain_id: x.counterparty_chain_id,
          counterparty_channel_id: x.counterparty_channel_id,
          packets_sent: n(x.sent),
          packets_received: n(x.received),
          packets_acknowledged: n(x.acknowledged),
          packets_timed_out: n(x.timed_out),
          success_rate: successRate(n(x.acks_successful), n(x.acknowledged), n(x.timed_out)),
          avg_clear_time_ms: average(n(x.clear_sum_ms), n(x.clear_count)),
          pending_backlog: n(x.pending_backlog),
          stuck_count: n(x.stuck_count),
          congestion_score: x.congestion_score === null ? null : n(x.congestion_score),
          as_of_hour: x.latest_hour ? new Date(x.latest_hour).toISOString() : null,
          updated_at: x.updated_at ? new Date(x.updated_at).toISOString() : null,
        })),
      };
    });
  }

  relayers(q: RangeQuery & { limit?: number }) {
    const r = this.range(q);
    const days = dayBounds(r);
    return this.cache.getOrLoad(this.keyspaces.relayers, cacheKey(days.from, days.to, q.chain_id, q.limit), async () => {
      const rows = await this.db.query<Record<string, string | null> & { frontrun_by: Record<string, string> | null }>(
        `SELECT relayer_address, chain_id, sum(packets_relayed)::text AS relayed, sum(packets_effected)::text AS effected,
                sum(packets_frontrun)::text AS frontrun, sum(latency_count)::text AS latency_count, sum(latency_sum_ms)::text AS latency_sum_ms,
                (SELECT jsonb_object_agg(k, total) FROM (
                   SELECT e.key AS k, sum(e.value::bigint)::text AS total FROM relayer_performance r2, jsonb_each_text(r2.frontrun_by) e
                    WHERE r2.relayer_address = r.relayer_address AND r2.chain_id = r.chain_id AND r2.date BETWEEN $1 AND $2 GROUP BY e.key) f) AS frontrun_by,
                max(updated_at) AS updated_at
           FROM relayer_performance r
          WHERE date BETWEEN $1 AND $2 AND ($3::text IS NULL OR chain_id = $3)
          GROUP BY relayer_address, chain_id
          ORDER BY sum(packets_effected) DESC, relayer_address, chain_id
          LIMIT $4`,
        [days.from, days.to, q.chain_id ?? null, q.limit ?? 100],
        'replica',
      );
      const relayers = rows.map((x) => {
        const relayed = n(x.relayed);
        const effected = n(x.effected);
        const avgLatencyMs = average(n(x.latency_sum_ms), n(x.latency_count));
        return {
          relayer_address: x.relayer_address!,
          chain_id: x.chain_id!,
          packets_relayed: relayed,
          packets_effected: effected,
          packets_frontrun: n(x.frontrun),
          frontrun_by: Object.fromEntries(Object.entries(x.frontrun_by ?? {}).map(([k, v]) => [k, Number(v)])),
          avg_latency_ms: avgLatencyMs,
          reputation_score: reputationScore({ relayed, effected, avgLatencyMs }),
          updated_at: x.updated_at ? new Date(x.updated_at).toISOString() : null,
        };
      });
      relayers.sort((a, b) => (b.reputation_score ?? -1) - (a.reputation_score ?? -1) || b.packets_effected - a.packets_effected);
      return { from: days.from, to: days.to, relayers };
    });
  }

  /** The most congested channels now: each channel's latest hour. */
  /**
   * A channel as its chains showed it at the reconciler's last pass (channel_pending): state, ordering, both
   * clients' status, the packets pending on the source and those the destination has not received; 404 for a
   * channel the reconciler has not seen.
   */
  async channelPending(chainId: string, channel: string) {
    // A primary-key read of the replica: never cached longer than the row itself is (a pass).
    const row = await (async () => {
      const [r] = await this.db.query<Record<string, unknown>>(
        `SELECT chain_id, port, channel, counterparty_chain_id, counterparty_channel, channel_state, ordering, client_id, client_status, counterparty_client_status,
                pending_count, unreceived_count, oldest_pending_sequence::text AS oldest_pending_sequence, oldest_unreceived_sequence::text AS oldest_unreceived_sequence,
                unreceived_sample::text[] AS unreceived_sample, reconciled_at
           FROM channel_pending WHERE chain_id = $1 AND port = 'transfer' AND channel = $2`,
        [chainId, channel],
        'replica',
      );
      return r ?? null;
    })();
    if (!row) throw ApiError.notFound(`${chainId} transfer/${channel} has not been reconciled: it is not a channel between two chains Unstuck follows, or the first pass has not reached it yet`);
    const pending = Number(row.pending_count);
    const unreceived = Number(row.unreceived_count);
    return {
      chain_id: row.chain_id as string,
      port: row.port as string,
      channel: row.channel as string,
      counterparty: { chain_id: row.counterparty_chain_id as string, channel: row.counterparty_channel as string },
      channel_state: row.channel_state as string,
      ordering: row.ordering as string,
      client: { id: row.client_id as string, status: row.client_status as string },
      counterparty_client_status: row.counterparty_client_status as string,
      pending: pending,
      unreceived: { count: unreceived, oldest_sequence: row.oldest_unreceived_sequence as string | null, sequences: row.unreceived_sample as string[] },
      unacknowledged: { count: pending - unreceived },
      oldest_pending_sequence: row.oldest_pending_sequence as string | null,
      reconciled_at: new Date(row.reconciled_at as string).toISOString(),
    };
  }

  congestion(q: { chain_id?: string; limit: number }) {
    return this.cache.getOrLoad(this.keyspaces.channels, cacheKey('congestion', q.chain_id, q.limit), async () => {
      const rows = await this.db.query<Record<string, string | null>>(
        `SELECT DISTINCT ON (chain_id, channel_id) chain_id, channel_id, counterparty_chain_id, counterparty_channel_id,
                congestion_score::text, pending_backlog::text, stuck_count::text, avg_clear_time_ms::text, success_rate::text, hour, updated_at
           FROM channel_performance
          WHERE hour >= date_trunc('hour', now()) - interval '24 hours' AND ($1::text IS NULL OR chain_id = $1)
          ORDER BY chain_id, channel_id, hour DESC`,
        [q.chain_id ?? null],
        'replica',
      );
      const channels = rows
        .map((x) => ({
          chain_id: x.chain_id!,
          channel_id: x.channel_id!,
          counterparty_chain_id: x.counterparty_chain_id,
          counterparty_channel_id: x.counterparty_channel_id,
          congestion_score: x.congestion_score === null ? null : n(x.congestion_score),
          pending_backlog: n(x.pending_backlog),
          stuck_count: n(x.stuck_count),
          avg_clear_time_ms: x.avg_clear_time_ms === null ? null : n(x.avg_clear_time_ms),
          success_rate: x.success_rate === null ? null : n(x.success_rate),
          hour: new Date(x.hour!).toISOString(),
          updated_at: new Date(x.updated_at!).toISOString(),
        }))
        .sort((a, b) => (b.congestion_score ?? -1) - (a.congestion_score ?? -1) || b.pending_backlog - a.pending_backlog)
        .slice(0, q.limit);
      return { channels };
    });
  }
}

/** The UTC days a range touches, as YYYY-MM-DD. */
function dayBounds(r: Range): { from: string; to: string } {
  return { from: r.from.toISOString().slice(0, 10), to: r.to.toISOString().slice(0, 10) };
}

const cacheKey = (...parts: Array<string | number | undefined>) => parts.map((p) => String(p ?? '*')).join('|');
