import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The indexes of seed 000 (§3) and seed 004 on tables that hold data in a running system, built CONCURRENTLY so
 * that writes go on during the build. CREATE INDEX CONCURRENTLY cannot run inside a transaction, hence
 * `transaction = false`. A build that was interrupted leaves an INVALID index behind, which IF NOT EXISTS would
 * silently keep, so such a leftover is dropped and rebuilt.
 *
 * Dates are taken in UTC explicitly: DATE(timestamptz) depends on the session time zone, is not IMMUTABLE, and
 * PostgreSQL refuses it in an index.
 */
export const PERFORMANCE_INDEXES: ReadonlyArray<{ name: string; definition: string }> = [
  // A wallet's operations, newest first (GET /users/{wallet}/operations).
  {
    name: 'idx_clearing_operations_wallet_created',
    definition: 'clearing_operations (wallet_address, created_at DESC) WHERE deleted_at IS NULL',
  },
  {
    name: 'idx_clearing_operations_wallet_status',
    definition: 'clearing_operations (wallet_address, status, created_at DESC) WHERE deleted_at IS NULL',
  },
  {
    name: 'idx_clearing_operations_wallet_date_success',
    definition:
      "clearing_operations (wallet_address, ((created_at AT TIME ZONE 'UTC')::date), success) WHERE deleted_at IS NULL",
  },
  {
    name: 'idx_clearing_operations_created_date',
    definition: "clearing_operations (((created_at AT TIME ZONE 'UTC')::date), success) WHERE deleted_at IS NULL",
  },
  // Operations still moving, for the clearing worker's recovery sweep.
  {
    name: 'idx_clearing_operations_active',
    definition: "clearing_operations (status, updated_at) WHERE status IN ('paid', 'clearing') AND deleted_at IS NULL",
  },
  {
    name: 'idx_clearing_operations_payment_tx',
    definition: 'clearing_operations (payment_tx_hash) WHERE payment_tx_hash IS NOT NULL',
  },
  {
    name: 'idx_clearing_operations_clearing_tx',
    definition: 'clearing_operations (clearing_tx_hash) WHERE clearing_tx_hash IS NOT NULL',
  },
  // Expiry sweep over tokens not used yet.
  { name: 'idx_clearing_tokens_expires_unused', definition: 'clearing_tokens (expires_at) WHERE used_at IS NULL' },
  // Packets held by live operations: a packet must not be sold twice.
  {
    name: 'idx_clearing_operation_packets_packet',
    definition: 'clearing_operation_packets (src_chain_id, src_port, src_channel, sequence)',
  },
  { name: 'idx_payments_operation', definition: 'payments (operation_id)' },
  // The refund worker's queue.
  {
    name: 'idx_refunds_status_created',
    definition: "refunds (refund_status, created_at) WHERE refund_status IN ('pending', 'broadcast')",
  },
  { name: 'idx_refunds_operation', definition: 'refunds (operation_id)' },
  // Leaderboards and time ranges.
  { name: 'idx_network_stats_date', definition: 'network_stats (date, chain_id)' },
  { name: 'idx_channel_performance_hour', definition: 'channel_performance (hour DESC, congestion_score DESC)' },
  { name: 'idx_relayer_performance_reputation', definition: 'relayer_performance (date, reputation_score DESC)' },
  { name: 'idx_relayer_performance_chain_date', definition: 'relayer_performance (chain_id, date)' },
];

export class PerformanceIndexes1732100000001 implements MigrationInterface {
  name = 'PerformanceIndexes1732100000001';
  transaction = false as const;

  async up(q: QueryRunner): Promise<void> {
    for (const { name, definition } of PERFORMANCE_INDEXES) {
      const invalid: unknown[] = await q.query(
        `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND NOT i.indisvalid`,
        [name],
      );
      if (invalid.length > 0) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
      await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${definition}`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const { name } of [...PERFORMANCE_INDEXES].reverse()) {
      await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    }
  }
}
