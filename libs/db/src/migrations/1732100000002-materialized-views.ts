import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Materialized views of seed 004: per-wallet statistics and hourly packet statistics. Each has a unique index so
 * that it can be refreshed CONCURRENTLY (readers are never blocked); the stats aggregator refreshes them on a
 * schedule. Plain PostgreSQL stands in for the seed's TimescaleDB continuous aggregate.
 */
export class MaterializedViews1732100000002 implements MigrationInterface {
  name = 'MaterializedViews1732100000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE MATERIALIZED VIEW mv_user_statistics AS
      SELECT wallet_address,
             count(*)                                                 AS total_operations,
             count(*) FILTER (WHERE status = 'completed')             AS completed_operations,
             count(*) FILTER (WHERE status IN ('failed', 'refunded')) AS failed_operations,
             coalesce(sum(packets_cleared), 0)::bigint                AS packets_cleared,
             coalesce(sum(total_fee) FILTER (WHERE status IN ('paid', 'clearing', 'completed')), 0) AS fees_paid,
             min(created_at)                                          AS first_operation_at,
             max(created_at)                                          AS last_operation_at
        FROM clearing_operations
       WHERE deleted_at IS NULL
       GROUP BY wallet_address`);
    await q.query(`CREATE UNIQUE INDEX uq_mv_user_statistics_wallet ON mv_user_statistics (wallet_address)`);

    await q.query(`
      CREATE MATERIALIZED VIEW hourly_packet_stats AS
      SELECT date_trunc('hour', created_at)                          AS hour,
             src_chain_id,
             src_channel,
             count(*)                                                AS packet_count,
             count(*) FILTER (WHERE status = 'acknowledged')         AS acknowledged,
             count(*) FILTER (WHERE status = 'timed_out')            AS timed_out,
             count(*) FILTER (WHERE stuck_kind IS NOT NULL)          AS stuck,
             avg(clear_time_ms)::bigint                              AS avg_clear_time_ms
        FROM packet_flow
       GROUP BY 1, 2, 3`);
    await q.query(`CREATE UNIQUE INDEX uq_hourly_packet_stats ON hourly_packet_stats (hour, src_chain_id, src_channel)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP MATERIALIZED VIEW IF EXISTS hourly_packet_stats`);
    await q.query(`DROP MATERIALIZED VIEW IF EXISTS mv_user_statistics`);
  }
}
