import { Logger } from '@nestjs/common';
import type { EventMap } from '@unstuck/contracts';
import { rowsOf, type Database } from '@unstuck/db';
import type { EventPublisher, OutgoingEvent } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import type { StatsEnv } from './env';
import type { StatsStore } from './stats-store';

type Row = Record<string, string | Date | null>;
const iso = (v: string | Date | null | undefined, fallback: Date): string => (v instanceof Date ? v : v ? new Date(v) : fallback).toISOString();
const packetOf = (r: Row) => ({
  src_chain_id: r.src_chain_id as string,
  src_port: r.src_port as string,
  src_channel: r.src_channel as string,
  sequence: r.sequence as string,
});
const opt = (v: string | Date | null | undefined) => (typeof v === 'string' && v.length > 0 ? v : undefined);

const POSITIONS = `pos AS (SELECT chain_id, height, block_time FROM ingest_cursors)`;
/** A packet still awaiting receipt whose timeout has passed on its destination (by height or by time). */
const TIMEOUT_PASSED = `((f.timeout_revision_height > 0 AND dp.height >= f.timeout_revision_height)
  OR (f.timeout_timestamp_ns > 0 AND coalesce(dp.block_time, now()) >= to_timestamp(f.timeout_timestamp_ns / 1e9)))`;
const STUCK_COLUMNS = `f.src_chain_id, f.src_port, f.src_channel, f.sequence::text AS sequence, f.dst_chain_id, f.dst_channel,
  f.sender, f.receiver, f.send_time, f.created_at`;

/**
 * Finds stuck packets, packets that stopped being stuck, and packets about to time out, through partial indexes
 * (never a scan of packet_flow), and emits one event per packet and kind.
 *
 * Time is judged by the chains' clocks as ingest last saw them: a packet is awaiting receipt when its destination
 * has moved STUCK_AFTER_SECONDS past the send without a recv; awaiting its ack when the source has moved that far
 * past the recv; timeout_pending when the destination's height or time has passed the packet's timeout. So a
 * lagging ingest never makes delivered packets look stuck. A destination nobody follows is judged by wall-clock
 * time (and cannot be judged by height).
 *
 * Each change is written and its event published in one transaction: if publishing fails the flag is rolled back
 * and the next tick tries again; if the process dies after publishing, the next tick publishes the same message
 * id, which JetStream drops as a duplicate.
 */
export class StuckDetector {
  private readonly logger = new Logger('StuckDetector');
  private readonly stuckGauge = metric.gauge({
    name: 'ibc_stuck_packets',
    help: 'The number of packets stuck on an IBC channel (Chainpulse-compatible)',
    labelNames: ['src_chain', 'dst_chain', 'src_channel'],
  });
  private readonly nearTimeoutGauge = metric.gauge({
    name: 'ibc_packets_near_timeout',
    help: 'packets still awaiting receipt whose timeout is within the warning window',
    labelNames: ['src_chain', 'dst_chain', 'src_channel'],
  });
  private readonly emitted = metric.counter({
    name: 'stats_stuck_events_total',
    help: 'stuck, unstuck and near-timeout events emitted',
    labelNames: ['event', 'kind'],
  });

  constructor(
    private readonly db: Database,
    private readonly store: StatsStore,
    private readonly publisher: EventPublisher,
    private readonly env: StatsEnv,
  ) {}

  async tick(): Promise<{ stuck: number; unstuck: number; nearTimeout: number }> {
    const unstuck = await this.resolve();
    const stuck = await this.detect();
    const nearTimeout = await this.warnNearTimeout();
    await this.refreshGauges();
    return { stuck, unstuck, nearTimeout };
  }

  private async resolve(): Promise<number> {
    return this.db.write(async (m) => {
      const rows = rowsOf<Row>(await m.query(
        `WITH resolved AS (
           SELECT created_at, id, stuck_kind AS kind FROM packet_flow
            WHERE stuck_kind IS NOT NULL
              AND NOT ((stuck_kind IN ('awaiting_recv', 'timeout_pending') AND status = 'sent')
                       OR (stuck_kind = 'awaiting_ack' AND status = 'received'))
            ORDER BY stuck_since LIMIT $1)
         UPDATE packet_flow f SET stuck_kind = NULL, stuck_since = NULL, updated_at = now()
           FROM resolved r WHERE f.created_at = r.created_at AND f.id = r.id
         RETURNING ${STUCK_COLUMNS}, r.kind, f.status,
                   CASE f.status WHEN 'received' THEN f.recv_time WHEN 'acknowledged' THEN f.ack_time ELSE f.timeout_time END AS resolved_at`,
        [this.env.STATS_DETECT_BATCH],
      ));
      const events: OutgoingEvent[] = rows.map((r) => ({
        event: 'packet.unstuck',
        payload: {
          packet: packetOf(r),
          kind: r.kind as EventMap['packet.unstuck']['kind'],
          resolution: r.status as EventMap['packet.unstuck']['resolution'],
          sender: opt(r.sender),
          receiver: opt(r.receiver),
          resolved_at: iso(r.resolved_at, new Date()),
        },
      }));
      await this.publish(events);
      return events.length;
    });
  }

  private async detect(): Promise<number> {
    const after = `${this.env.STUCK_AFTER_SECONDS} seconds`;
    return this.db.write(async (m) => {
      const rows = rowsOf<Row>(await m.query(
        `WITH ${POSITIONS},
         fresh AS (
           SELECT f.created_at, f.id, f.status, NULL::text AS old_kind,
                  CASE WHEN f.status = 'received' THEN 'awaiting_ack' WHEN ${TIMEOUT_PASSED} THEN 'timeout_pending' ELSE 'awaiting_recv' END AS kind
             FROM packet_flow f
             LEFT JOIN pos dp ON dp.chain_id = f.dst_chain_id
             LEFT JOIN pos sp ON sp.chain_id = f.src_chain_id
            WHERE f.status IN ('sent', 'received') AND f.stuck_kind IS NULL AND f.dst_channel IS NOT NULL
              -- A receipt whose acknowledgement the destination has not written yet (async ack) has nothing to
              -- relay back: it is not stuck, and never offered for clearing, until the ack is written.
              AND (f.status = 'sent' OR f.ack_written_height IS NOT NULL OR f.ack_pending IS NOT TRUE)
              AND f.created_at < greatest(now(), (SELECT max(block_time) FROM pos)) - $2::interval
              AND CASE WHEN f.status = 'sent' THEN coalesce(f.send_time, f.created_at) < coalesce(dp.block_time, now()) - $2::interval
                       ELSE coalesce(f.ack_written_time, f.recv_time) < coalesce(sp.block_time, now()) - $2::interval END
            ORDER BY f.created_at LIMIT $1),
         timed_out AS (
           SELECT f.created_at, f.id, f.status, f.stuck_kind AS old_kind, 'timeout_pending' AS kind
             FROM packet_flow f LEFT JOIN pos dp ON dp.chain_id = f.dst_chain_id
            WHERE f.stuck_kind = 'awaiting_recv' AND f.status = 'sent' AND ${TIMEOUT_PASSED}
            LIMIT $1),
         found AS (SELECT * FROM fresh UNION ALL SELECT * FROM timed_out)
         UPDATE packet_flow f SET stuck_kind = c.kind, stuck_since = now(), updated_at = now()
           FROM found c
          WHERE f.created_at = c.created_at AND f.id = c.id AND f.status = c.status AND f.stuck_kind IS NOT DISTINCT FROM c.old_kind
         RETURNING ${STUCK_COLUMNS}, c.kind`,
        [this.env.STATS_DETECT_BATCH, after],
      ));
      const now = new Date();
      const events: OutgoingEvent[] = rows.map((r) => ({
        event: 'packet.stuck',
        payload: {
          packet: packetOf(r),
          kind: r.kind as EventMap['packet.stuck']['kind'],
          dst_chain_id: opt(r.dst_chain_id),
          dst_channel: r.dst_channel as string,
          sender: opt(r.sender),
          receiver: opt(r.receiver),
          sent_at: iso(r.send_time ?? r.created_at, now),
          detected_at: now.toISOString(),
        },
      }));
      await this.publish(events);
      return events.length;
    });
  }

  private async warnNearTimeout(): Promise<number> {
    const window = `${this.env.NEAR_TIMEOUT_WINDOW_SECONDS} seconds`;
    return this.db.write(async (m) => {
      const rows = rowsOf<Row>(await m.query(
        `WITH ${POSITIONS},
         clock AS (SELECT least(now(), min(block_time)) AS lo, greatest(now(), max(block_time)) AS hi FROM pos),
         by_time AS (
           SELECT f.created_at, f.id FROM packet_flow f LEFT JOIN pos dp ON dp.chain_id = f.dst_chain_id, clock
            WHERE f.status = 'sent' AND f.near_timeout_at IS NULL AND f.timeout_timestamp_ns > 0
              AND f.timeout_timestamp_ns > extract(epoch FROM clock.lo)::numeric * 1e9
              AND f.timeout_timestamp_ns <= extract(epoch FROM clock.hi + $2::interval)::numeric * 1e9
              AND to_timestamp(f.timeout_timestamp_ns / 1e9) > coalesce(dp.block_time, now())
              AND to_timestamp(f.timeout_timestamp_ns / 1e9) <= coalesce(dp.block_time, now()) + $2::interval
              AND coalesce(f.send_time, f.created_at) < coalesce(dp.block_time, now()) - $4::interval
            LIMIT $1),
         by_height AS (
           SELECT f.created_at, f.id FROM pos p
             JOIN packet_flow f ON f.dst_chain_id = p.chain_id
              AND f.status = 'sent' AND f.near_timeout_at IS NULL AND f.timeout_revision_height > 0
              AND f.timeout_revision_height > p.height AND f.timeout_revision_height <= p.height + $3
            WHERE coalesce(f.send_time, f.created_at) < coalesce(p.block_time, now()) - $4::interval
            LIMIT $1),
         found AS (SELECT * FROM by_time UNION SELECT * FROM by_height)
         UPDATE packet_flow f SET near_timeout_at = now()
           FROM found c
          WHERE f.created_at = c.created_at AND f.id = c.id AND f.status = 'sent' AND f.near_timeout_at IS NULL
         RETURNING ${STUCK_COLUMNS}, f.timeout_revision_number::text AS trn, f.timeout_revision_height::text AS trh,
                   f.timeout_timestamp_ns::text AS tts,
                   (SELECT height FROM pos WHERE chain_id = f.dst_chain_id) AS dst_height,
                   (SELECT coalesce(block_time, now()) FROM pos WHERE chain_id = f.dst_chain_id) AS dst_time`,
        [this.env.STATS_DETECT_BATCH, window, this.env.NEAR_TIMEOUT_BLOCKS, `${this.env.NEAR_TIMEOUT_MIN_AGE_SECONDS} seconds`],
      ));
      const now = new Date();
      const events: OutgoingEvent[] = rows.map((r) => {
        const trh = BigInt(r.trh as string);
        const tts = BigInt(r.tts as string);
        const dstHeight = r.dst_height === null ? undefined : BigInt(r.dst_height as string);
        const dstTime = r.dst_time instanceof Date ? r.dst_time : now;
        const blocksLeft = trh > 0n && dstHeight !== undefined && trh > dstHeight ? Number(trh - dstHeight) : undefined;
        const secondsLeft = tts > 0n ? Math.max(0, Math.floor(Number(tts / 1_000_000n) / 1000 - dstTime.getTime() / 1000)) : undefined;
        return {
          event: 'packet.near_timeout',
          payload: {
            packet: packetOf(r),
            dst_chain_id: opt(r.dst_chain_id),
            dst_channel: r.dst_channel as string,
            sender: opt(r.sender),
            receiver: opt(r.receiver),
            timeout_height: { revision_number: r.trn as string, revision_height: r.trh as string },
            timeout_timestamp_ns: r.tts as string,
            ...(blocksLeft !== undefined ? { blocks_left: blocksLeft } : {}),
            ...(secondsLeft !== undefined ? { seconds_left: secondsLeft } : {}),
            detected_at: now.toISOString(),
          },
        };
      });
      await this.publish(events);
      return events.length;
    });
  }

  /** The gauges, and each channel's backlog and stuck count in its current-hour statistics row. */
  private async refreshGauges(): Promise<void> {
    const rows = await this.db.query<{ src_chain_id: string; src_channel: string; dst_chain_id: string; pending: string; stuck: string; near: string }>(
      `SELECT src_chain_id, src_channel, coalesce(dst_chain_id, 'unknown') AS dst_chain_id, count(*) AS pending,
              count(*) FILTER (WHERE stuck_kind IS NOT NULL) AS stuck,
              count(*) FILTER (WHERE status = 'sent' AND near_timeout_at IS NOT NULL AND stuck_kind IS DISTINCT FROM 'timeout_pending') AS near
         FROM packet_flow WHERE status IN ('sent', 'received')
        GROUP BY 1, 2, 3`,
    );
    this.stuckGauge.reset();
    this.nearTimeoutGauge.reset();
    const channels = new Map<string, { chain_id: string; channel_id: string; pending: number; stuck: number }>();
    for (const r of rows) {
      const labels = { src_chain: r.src_chain_id, dst_chain: r.dst_chain_id, src_channel: r.src_channel };
      this.stuckGauge.set(labels, Number(r.stuck));
      this.nearTimeoutGauge.set(labels, Number(r.near));
      const k = `${r.src_chain_id}|${r.src_channel}`;
      const c = channels.get(k) ?? { chain_id: r.src_chain_id, channel_id: r.src_channel, pending: 0, stuck: 0 };
      c.pending += Number(r.pending);
      c.stuck += Number(r.stuck);
      channels.set(k, c);
    }
    await this.store.setChannelGauges([...channels.values()]);
  }

  private async publish(events: OutgoingEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.publisher.publishBatch(events);
    for (const e of events) {
      const kind = 'kind' in e.payload ? String(e.payload.kind) : 'none';
      this.emitted.inc({ event: e.event, kind });
    }
    this.logger.log(`${events.length} ${events[0]!.event} events`);
  }
}
