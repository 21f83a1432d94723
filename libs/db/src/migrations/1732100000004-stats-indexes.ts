import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes the stats aggregator's scheduled work reads through, so that none of it scans packet_flow:
 *
 * - packets in flight and not flagged stuck yet, by age (the stuck detector's candidates);
 * - packets flagged stuck (resolution and timeout checks, the stuck gauges);
 * - packets awaiting receipt that have not been warned, by timeout timestamp and by timeout height (near-timeout);
 * - stats rows by `updated_at` (the throttled stats.updated publisher).
 *
 * packet_flow is partitioned, and PostgreSQL cannot build an index CONCURRENTLY on a partitioned table. So each
 * is created ON ONLY the parent (invalid, no data), built CONCURRENTLY on every partition, and attached; the parent
 * index becomes valid once every partition has one, and partitions created later get theirs automatically.
 */
export const PACKET_FLOW_INDEXES: ReadonlyArray<{ name: string; suffix: string; definition: string }> = [
  {
    name: 'idx_packet_flow_pending_unflagged',
    suffix: 'pending',
    definition: `(created_at) WHERE status IN ('sent', 'received') AND stuck_kind IS NULL`,
  },
  { name: 'idx_packet_flow_stuck', suffix: 'stuck', definition: `(stuck_since) WHERE stuck_kind IS NOT NULL` },
  {
    name: 'idx_packet_flow_near_timeout_ts',
    suffix: 'near_ts',
    definition: `(timeout_timestamp_ns) WHERE status = 'sent' AND near_timeout_at IS NULL AND timeout_timestamp_ns > 0`,
  },
  {
    name: 'idx_packet_flow_near_timeout_height',
    suffix: 'near_height',
    definition: `(dst_chain_id, timeout_revision_height) WHERE status = 'sent' AND near_timeout_at IS NULL AND timeout_revision_height > 0`,
  },
];

export const STATS_TABLE_INDEXES: ReadonlyArray<{ name: string; definition: string }> = [
  { name: 'idx_network_stats_updated', definition: 'network_stats (updated_at)' },
  { name: 'idx_channel_performance_updated', definition: 'channel_performance (updated_at)' },
  { name: 'idx_relayer_performance_updated', definition: 'relayer_performance (updated_at)' },
];

async function isValid(q: QueryRunner, name: string): Promise<boolean | undefined> {
  const rows: Array<{ valid: boolean }> = await q.query(
    `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
    [name],
  );
  return rows[0]?.valid;
}

/** CREATE INDEX CONCURRENTLY that rebuilds an INVALID leftover of an interrupted build instead of keeping it. */
async function buildConcurrently(q: QueryRunner, name: string, on: string): Promise<void> {
  if ((await isValid(q, name)) === false) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${on}`);
}

/**
 * An index on a partitioned table without blocking writes: ON ONLY the parent, CONCURRENTLY on each partition
 * not covered yet, then attached. Safe to re-run after an interruption.
 */
export async function buildPartitionedIndex(q: QueryRunner, parent: string, index: { name: string; suffix: string; definition: string }): Promise<void> {
  const { name, suffix, definition } = index;
  await q.query(`CREATE INDEX IF NOT EXISTS ${name} ON ONLY ${parent} ${definition}`);
  const partitions: Array<{ part: string; attached: boolean }> = await q.query(
    `SELECT c.relname AS part,
            EXISTS (SELECT 1 FROM pg_inherits ii JOIN pg_index x ON x.indexrelid = ii.inhrelid
                     WHERE ii.inhparent = $1::regclass AND x.indrelid = c.oid) AS attached
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $2::regclass ORDER BY 1`,
    [name, parent],
  );
  for (const { part, attached } of partitions) {
    if (attached) continue;
    const child = `${part}_${suffix}`;
    await buildConcurrently(q, child, `${part} ${definition}`);
    await q.query(`ALTER INDEX ${name} ATTACH PARTITION ${child}`);
  }
}

export class StatsIndexes1732100000004 implements MigrationInterface {
  name = 'StatsIndexes1732100000004';
  transaction = false as const;

  async up(q: QueryRunner): Promise<void> {
    for (const index of PACKET_FLOW_INDEXES) await buildPartitionedIndex(q, 'packet_flow', index);
    for (const { name, definition } of STATS_TABLE_INDEXES) await buildConcurrently(q, name, definition);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const { name } of [...STATS_TABLE_INDEXES].reverse()) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    // Dropping the parent index drops the attached partition indexes with it.
    for (const { name } of [...PACKET_FLOW_INDEXES].reverse()) await q.query(`DROP INDEX IF EXISTS ${name}`);
  }
}
