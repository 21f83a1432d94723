import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { packetKey, type PacketId } from '@unstuck/contracts';
import type { Database } from '@unstuck/db';
import { hourOf, sumDeltas, type ChannelRowDelta, type Contribution, type LifecycleCounts, type NetworkRowDelta, type PacketFacts, type RelayerRowDelta } from './aggregation';
import { average, congestionScore, histogramOf, histogramQuantile, mergeHistograms, reputationScore, successRate } from './formulas';

/** md5 as a uuid: 16 bytes per ledger row instead of the fact's text. */
export function factHash(fact: string): string {
  const h = createHash('md5').update(fact).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const num = (v: string | number | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

/** The lifecycle counts network_stats and channel_performance share: stored row plus delta, and their success rate. */
function lifecycleCounts(r: Record<string, unknown>, d: LifecycleCounts) {
  const acknowledged = num(r.packets_acknowledged as string) + d.acknowledged;
  const acksSuccessful = num(r.acks_successful as string) + d.acks_successful;
  const timedOut = num(r.packets_timed_out as string) + d.timed_out;
  return {
    packets_sent: num(r.packets_sent as string) + d.sent,
    packets_received: num(r.packets_received as string) + d.received,
    packets_acknowledged: acknowledged,
    acks_successful: acksSuccessful,
    packets_timed_out: timedOut,
    success_rate: successRate(acksSuccessful, acknowledged, timedOut),
  };
}

/**
 * The aggregator's SQL. `apply` counts each fact once: the fact hashes go into stats_ledger first, and only the
 * facts that were new there feed the statistics rows, in the same transaction; a redelivered batch finds its facts
 * in the ledger and changes nothing. The rows of each table are locked in key order, so two aggregators working
 * on the same rows wait for each other but never deadlock; derived columns are recomputed from the raw sums.
 */
export class StatsStore {
  constructor(private readonly db: Database) {}

  /** What packet_flow knows about these packets (from the primary: ingest committed them moments ago). */
  async packetFacts(packets: readonly PacketId[]): Promise<Map<string, PacketFacts>> {
    if (packets.length === 0) return new Map();
    const rows = await this.db.query<PacketId & Record<keyof PacketFacts, string | Date | null>>(
      `SELECT f.src_chain_id, f.src_port, f.src_channel, f.sequence::text, f.dst_chain_id, f.dst_channel,
              f.send_time, f.recv_time, f.ack_time, f.timeout_time, f.recv_relayer, f.ack_relayer, f.timeout_relayer
         FROM json_to_recordset($1::json) AS i(src_chain_id text, src_port text, src_channel text, sequence bigint)
         JOIN packet_keys k USING (src_chain_id, src_port, src_channel, sequence)
         JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id`,
      [JSON.stringify(packets)],
    );
    const iso = (v: string | Date | null) => (v instanceof Date ? v.toISOString() : v);
    const text = (v: string | Date | null) => v as string | null;
    return new Map(
      rows.map((r) => [
        packetKey(r),
        {
          dst_chain_id: text(r.dst_chain_id),
          dst_channel: text(r.dst_channel),
          send_time: iso(r.send_time),
          recv_time: iso(r.recv_time),
          ack_time: iso(r.ack_time),
          timeout_time: iso(r.timeout_time),
          recv_relayer: text(r.recv_relayer),
          ack_relayer: text(r.ack_relayer),
          timeout_relayer: text(r.timeout_relayer),
        },
      ]),
    );
  }

  /** Applies the contributions whose facts are new; returns those (the rest were counted before). */
  async apply(contributions: readonly Contribution[]): Promise<Contribution[]> {
    const unique = new Map<string, Contribution>();
    for (const c of contributions) if (!unique.has(c.fact)) unique.set(c.fact, c);
    if (unique.size === 0) return [];
    const byHash = new Map([...unique.values()].map((c) => [factHash(c.fact), c]));
    // Locked in (day, hash) order by the statement's ORDER BY, not by sorting here.
    const ledger = [...byHash.entries()].map(([hash, c]) => ({ day: c.day, hash }));
    return this.db.write(async (m) => {
      const inserted: Array<{ hash: string }> = await m.query(
        `INSERT INTO stats_ledger (fact_day, fact_hash)
         SELECT x.day, x.hash FROM json_to_recordset($1::json) AS x(day date, hash uuid) ORDER BY 1, 2
         ON CONFLICT DO NOTHING
         RETURNING fact_hash::text AS hash`,
        [JSON.stringify(ledger)],
      );
      const fresh = inserted.map((r) => byHash.get(r.hash)!).filter(Boolean);
      const rows = sumDeltas(fresh);
      await this.applyNetwork(m, rows.network);
      await this.applyChannel(m, rows.channel);
      await this.applyRelayer(m, rows.relayer);
      return fresh;
    });
  }

  private async applyNetwork(m: EntityManager, deltas: NetworkRowDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    deltas.sort((a, b) => (a.chain_id + a.date < b.chain_id + b.date ? -1 : 1));
    const keys = JSON.stringify(deltas.map((d) => ({ chain_id: d.chain_id, date: d.date })));
    await m.query(
      `INSERT INTO network_stats (chain_id, date) SELECT chain_id, date FROM json_to_recordset($1::json) AS x(chain_id text, date date)
       ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
      [keys],
    );
    const current: Array<Record<string, string | string[] | null>> = await m.query(
      `SELECT n.chain_id, n.date::text AS date, n.packets_sent, n.packets_received, n.packets_acknowledged, n.acks_successful,
              n.packets_timed_out, n.relay_time_count, n.relay_time_sum_ms, n.relay_time_histogram::text[] AS histogram
         FROM network_stats n JOIN json_to_recordset($1::json) AS x(chain_id text, date date) USING (chain_id, date)
        ORDER BY n.chain_id, n.date FOR UPDATE OF n`,
      [keys],
    );
    const byKey = new Map(current.map((r) => [`${r.chain_id}|${r.date}`, r]));
    const updates = deltas.map((d) => {
      const r = byKey.get(`${d.chain_id}|${d.date}`)!;
      const histogram = mergeHistograms(((r.histogram as string[] | null) ?? []).map(Number), histogramOf(d.relay_times_ms));
      const count = num(r.relay_time_count as string) + d.relay_times_ms.length;
      const sum = num(r.relay_time_sum_ms as string) + d.relay_times_ms.reduce((s, x) => s + x, 0);
      return {
        chain_id: d.chain_id,
        date: d.date,
        ...lifecycleCounts(r, d),
        relay_time_count: count,
        relay_time_sum_ms: sum,
        relay_time_histogram: histogram,
        avg_relay_time_ms: average(sum, count),
        p95_relay_time_ms: histogramQuantile(histogram, 0.95),
      };
    });
    await m.query(
      `UPDATE network_stats n SET
         packets_sent = x.packets_sent, packets_received = x.packets_received, packets_acknowledged = x.packets_acknowledged,
         acks_successful = x.acks_successful, packets_timed_out = x.packets_timed_out, success_rate = x.success_rate,
         relay_time_count = x.relay_time_count, relay_time_sum_ms = x.relay_time_sum_ms,
         relay_time_histogram = ARRAY(SELECT json_array_elements_text(x.relay_time_histogram)::bigint),
         avg_relay_time_ms = x.avg_relay_time_ms, p95_relay_time_ms = x.p95_relay_time_ms, updated_at = clock_timestamp()
       FROM json_to_recordset($1::json) AS x(chain_id text, date date, packets_sent bigint, packets_received bigint,
            packets_acknowledged bigint, acks_successful bigint, packets_timed_out bigint, success_rate numeric,
            relay_time_count bigint, relay_time_sum_ms bigint, relay_time_histogram json, avg_relay_time_ms bigint,
            p95_relay_time_ms bigint)
       WHERE n.chain_id = x.chain_id AND n.date = x.date`,
      [JSON.stringify(updates)],
    );
  }

  private async applyChannel(m: EntityManager, deltas: ChannelRowDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const k = (d: { chain_id: string; channel_id: string; hour: string }) => `${d.chain_id}|${d.channel_id}|${new Date(d.hour).toISOString()}`;
    deltas.sort((a, b) => (k(a) < k(b) ? -1 : 1));
    await m.query(
      `INSERT INTO channel_performance (chain_id, channel_id, hour, counterparty_chain_id, counterparty_channel_id)
       SELECT chain_id, channel_id, hour, counterparty_chain_id, counterparty_channel_id
         FROM json_to_recordset($1::json) AS x(chain_id text, channel_id text, hour timestamptz, counterparty_chain_id text,
                                                counterparty_channel_id text)
       ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`,
      [JSON.stringify(deltas)],
    );
    const current: Array<Record<string, string | Date | null>> = await m.query(
      `SELECT c.chain_id, c.channel_id, c.hour, c.packets_sent, c.packets_received, c.packets_acknowledged, c.acks_successful,
              c.packets_timed_out, c.clear_time_count, c.clear_time_sum_ms, c.pending_backlog, c.stuck_count
         FROM channel_performance c
         JOIN json_to_recordset($1::json) AS x(chain_id text, channel_id text, hour timestamptz) USING (chain_id, channel_id, hour)
        ORDER BY c.chain_id, c.channel_id, c.hour FOR UPDATE OF c`,
      [JSON.stringify(deltas.map((d) => ({ chain_id: d.chain_id, channel_id: d.channel_id, hour: d.hour })))],
    );
    const byKey = new Map(current.map((r) => [k({ chain_id: r.chain_id as string, channel_id: r.channel_id as string, hour: (r.hour as Date).toISOString() }), r]));
    const updates = deltas.map((d) => {
      const r = byKey.get(k(d))!;
      const counts = lifecycleCounts(r, d);
      const count = num(r.clear_time_count as string) + d.clear_time_count;
      const sum = num(r.clear_time_sum_ms as string) + d.clear_time_sum_ms;
      const avgClear = average(sum, count);
      return {
        chain_id: d.chain_id,
        channel_id: d.channel_id,
        hour: d.hour,
        counterparty_chain_id: d.counterparty_chain_id,
        counterparty_channel_id: d.counterparty_channel_id,
        ...counts,
        clear_time_count: count,
        clear_time_sum_ms: sum,
        avg_clear_time_ms: avgClear,
        congestion_score: congestionScore({
          pendingBacklog: num(r.pending_backlog as string),
          stuckCount: num(r.stuck_count as string),
          completions: counts.packets_acknowledged + counts.packets_timed_out,
          avgClearTimeMs: avgClear,
        }),
      };
    });
    await m.query(
      `UPDATE channel_performance c SET
         counterparty_chain_id = coalesce(c.counterparty_chain_id, x.counterparty_chain_id),
         counterparty_channel_id = coalesce(c.counterparty_channel_id, x.counterparty_channel_id),
         packets_sent = x.packets_sent, packets_received = x.packets_received, packets_acknowledged = x.packets_acknowledged,
         acks_successful = x.acks_successful, packets_timed_out = x.packets_timed_out, success_rate = x.success_rate,
         clear_time_count = x.clear_time_count, clear_time_sum_ms = x.clear_time_sum_ms, avg_clear_time_ms = x.avg_clear_time_ms,
         congestion_score = x.congestion_score, updated_at = clock_timestamp()
       FROM json_to_recordset($1::json) AS x(chain_id text, channel_id text, hour timestamptz, counterparty_chain_id text,
            counterparty_channel_id text, packets_sent bigint, packets_received bigint, packets_acknowledged bigint,
            acks_successful bigint, packets_timed_out bigint, success_rate numeric, clear_time_count bigint,
            clear_time_sum_ms bigint, avg_clear_time_ms bigint, congestion_score smallint)
       WHERE c.chain_id = x.chain_id AND c.channel_id = x.channel_id AND c.hour = x.hour`,
      [JSON.stringify(updates)],
    );
  }

  private async applyRelayer(m: EntityManager, deltas: RelayerRowDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const k = (d: { relayer: string; chain_id: string; date: string }) => `${d.relayer}|${d.chain_id}|${d.date}`;
    deltas.sort((a, b) => (k(a) < k(b) ? -1 : 1));
    const keys = JSON.stringify(deltas.map((d) => ({ relayer_address: d.relayer, chain_id: d.chain_id, date: d.date })));
    await m.query(
      `INSERT INTO relayer_performance (relayer_address, chain_id, date)
       SELECT relayer_address, chain_id, date FROM json_to_recordset($1::json) AS x(relayer_address text, chain_id text, date date)
       ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`,
      [keys],
    );
    const current: Array<Record<string, string | Record<string, number> | null>> = await m.query(
      `SELECT r.relayer_address, r.chain_id, r.date::text AS date, r.packets_relayed, r.packets_effected, r.packets_frontrun,
              r.frontrun_by, r.latency_count, r.latency_sum_ms
         FROM relayer_performance r
         JOIN json_to_recordset($1::json) AS x(relayer_address text, chain_id text, date date) USING (relayer_address, chain_id, date)
        ORDER BY r.relayer_address, r.chain_id, r.date FOR UPDATE OF r`,
      [keys],
    );
    const byKey = new Map(current.map((r) => [k({ relayer: r.relayer_address as string, chain_id: r.chain_id as string, date: r.date as string }), r]));
    const updates = deltas.map((d) => {
      const r = byKey.get(k(d))!;
      const relayed = num(r.packets_relayed as string) + d.relayed;
      const effected = num(r.packets_effected as string) + d.effected;
      const count = num(r.latency_count as string) + d.latency_count;
      const sum = num(r.latency_sum_ms as string) + d.latency_sum_ms;
      const frontrunBy: Record<string, number> = { ...((r.frontrun_by as Record<string, number>) ?? {}) };
      for (const [who, n] of Object.entries(d.frontrun_by)) frontrunBy[who] = (frontrunBy[who] ?? 0) + n;
      const avgLatency = average(sum, count);
      return {
        relayer_address: d.relayer,
        chain_id: d.chain_id,
        date: d.date,
        packets_relayed: relayed,
        packets_effected: effected,
        packets_frontrun: num(r.packets_frontrun as string) + d.frontrun,
        frontrun_by: frontrunBy,
        latency_count: count,
        latency_sum_ms: sum,
        avg_latency_ms: avgLatency,
        reputation_score: reputationScore({ relayed, effected, avgLatencyMs: avgLatency }),
      };
    });
    await m.query(
      `UPDATE relayer_performance r SET
         packets_relayed = x.packets_relayed, packets_effected = x.packets_effected, packets_frontrun = x.packets_frontrun,
         frontrun_by = x.frontrun_by, latency_count = x.latency_count, latency_sum_ms = x.latency_sum_ms,
         avg_latency_ms = x.avg_latency_ms, reputation_score = x.reputation_score, updated_at = clock_timestamp()
       FROM json_to_recordset($1::json) AS x(relayer_address text, chain_id text, date date, packets_relayed bigint,
            packets_effected bigint, packets_frontrun bigint, frontrun_by jsonb, latency_count bigint, latency_sum_ms bigint,
            avg_latency_ms bigint, reputation_score smallint)
       WHERE r.relayer_address = x.relayer_address AND r.chain_id = x.chain_id AND r.date = x.date`,
      [JSON.stringify(updates)],
    );
  }

  /**
   * Writes each channel's backlog and stuck count into its current-hour row (zero for channels of that hour that
   * have nothing pending any more) and recomputes the congestion score.
   */
  async setChannelGauges(gauges: ReadonlyArray<{ chain_id: string; channel_id: string; pending: number; stuck: number }>, at = new Date()): Promise<void> {
    const hour = new Date(hourOf(at.toISOString()));
    const sorted = [...gauges].sort((a, b) => (a.chain_id + '|' + a.channel_id < b.chain_id + '|' + b.channel_id ? -1 : 1));
    await this.db.write(async (m) => {
      if (sorted.length > 0) {
        await m.query(
          `INSERT INTO channel_performance (chain_id, channel_id, hour)
           SELECT chain_id, channel_id, $2::timestamptz FROM json_to_recordset($1::json) AS x(chain_id text, channel_id text)
           ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
          [JSON.stringify(sorted), hour.toISOString()],
        );
      }
      const rows: Array<Record<string, string>> = await m.query(
        `SELECT chain_id, channel_id, packets_acknowledged, packets_timed_out, avg_clear_time_ms, pending_backlog, stuck_count
           FROM channel_performance WHERE hour = $1 ORDER BY chain_id, channel_id FOR UPDATE`,
        [hour.toISOString()],
      );
      const byKey = new Map(sorted.map((g) => [`${g.chain_id}|${g.channel_id}`, g]));
      const updates = rows
        .map((r) => {
          const g = byKey.get(`${r.chain_id}|${r.channel_id}`) ?? { pending: 0, stuck: 0 };
          return {
            chain_id: r.chain_id,
            channel_id: r.channel_id,
            changed: num(r.pending_backlog) !== g.pending || num(r.stuck_count) !== g.stuck,
            pending_backlog: g.pending,
            stuck_count: g.stuck,
            congestion_score: congestionScore({
              pendingBacklog: g.pending,
              stuckCount: g.stuck,
              completions: num(r.packets_acknowledged) + num(r.packets_timed_out),
              avgClearTimeMs: r.avg_clear_time_ms === null ? null : num(r.avg_clear_time_ms),
            }),
          };
        })
        .filter((u) => u.changed);
      if (updates.length === 0) return;
      await m.query(
        `UPDATE channel_performance c SET pending_backlog = x.pending_backlog, stuck_count = x.stuck_count,
                congestion_score = x.congestion_score, updated_at = clock_timestamp()
           FROM json_to_recordset($1::json) AS x(chain_id text, channel_id text, pending_backlog bigint, stuck_count bigint,
                                                  congestion_score smallint)
          WHERE c.chain_id = x.chain_id AND c.channel_id = x.channel_id AND c.hour = $2`,
        [JSON.stringify(updates), hour.toISOString()],
      );
    });
  }

  /**
   * The platform-wide figures, recomputed from the statistics and clearing tables (a snapshot, so recomputing it
   * any number of times never double counts) and stored in platform_stats. Fees are per denom, as strings: integer
   * base units can exceed what a float holds exactly.
   */
  async platformSnapshot(): Promise<{ stats: Record<string, number | string | null>; updatedAt: string }> {
    const [row] = await this.db.query<Record<string, string | null>>(
      `SELECT (SELECT coalesce(sum(packets_sent), 0) FROM network_stats)::text AS packets_tracked,
              (SELECT coalesce(sum(packets_acknowledged + packets_timed_out), 0) FROM network_stats)::text AS packets_completed,
              s.awaiting_recv::text, s.awaiting_ack::text, s.timeout_pending::text,
              c.operations::text, c.completed::text, c.failed::text, c.packets_cleared::text
         FROM (SELECT count(*) FILTER (WHERE stuck_kind = 'awaiting_recv') AS awaiting_recv,
                      count(*) FILTER (WHERE stuck_kind = 'awaiting_ack') AS awaiting_ack,
                      count(*) FILTER (WHERE stuck_kind = 'timeout_pending') AS timeout_pending
                 FROM packet_flow WHERE stuck_kind IS NOT NULL) s,
              (SELECT count(*) AS operations,
                      count(*) FILTER (WHERE status = 'completed') AS completed,
                      count(*) FILTER (WHERE status IN ('failed', 'refunded')) AS failed,
                      coalesce(sum(packets_cleared), 0) AS packets_cleared
                 FROM clearing_operations WHERE deleted_at IS NULL) c`,
    );
    const fees = await this.db.query<{ fee_denom: string; total: string }>(
      `SELECT fee_denom, sum(total_fee)::text AS total FROM clearing_operations
        WHERE deleted_at IS NULL AND status IN ('paid', 'clearing', 'completed', 'failed') GROUP BY 1 ORDER BY 1`,
    );
    const n = (k: string) => num(row![k]);
    const stuckNow = n('awaiting_recv') + n('awaiting_ack') + n('timeout_pending');
    const finished = n('completed') + n('failed');
    const stats: Record<string, number | string | null> = {
      packets_tracked: n('packets_tracked'),
      packets_completed: n('packets_completed'),
      stuck_now: stuckNow,
      stuck_awaiting_recv: n('awaiting_recv'),
      stuck_awaiting_ack: n('awaiting_ack'),
      stuck_timeout_pending: n('timeout_pending'),
      clearing_operations: n('operations'),
      clearing_completed: n('completed'),
      clearing_failed: n('failed'),
      packets_cleared: n('packets_cleared'),
      clearing_success_rate: finished === 0 ? null : Math.round((10_000 * n('completed')) / finished) / 100,
    };
    for (const f of fees) stats[`fees_${f.fee_denom}`] = f.total;
    const [saved] = await this.db.query<{ updated_at: Date }>(
      `INSERT INTO platform_stats (scope, stats, updated_at) VALUES ('all', $1::jsonb, clock_timestamp())
       ON CONFLICT (scope) DO UPDATE SET stats = EXCLUDED.stats,
         updated_at = CASE WHEN platform_stats.stats = EXCLUDED.stats THEN platform_stats.updated_at ELSE EXCLUDED.updated_at END
       RETURNING updated_at`,
      [JSON.stringify(stats)],
    );
    return { stats, updatedAt: saved!.updated_at.toISOString() };
  }
}
