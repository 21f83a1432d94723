import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the stats aggregator needs beyond the initial model (see docs/stats.md):
 *
 * - `stats_ledger`: every fact the aggregator has counted, by hash, so a redelivered event never counts twice.
 *   Partitioned by the day of the statistic it fed, so that old facts are dropped with their partition.
 * - The raw sums behind the derived columns (success rates, averages, percentiles, scores), so each can be
 *   recomputed exactly after every increment: counts of successful acks, time sums and counts, and a fixed-bucket
 *   histogram of relay times for the p95.
 * - `packet_flow.near_timeout_at`: the near-timeout warning is sent once per packet.
 * - `platform_stats`: the platform-wide snapshot the aggregator keeps current.
 * - `ensure_daily_partitions` learns to move rows that landed in the DEFAULT partition into the day's new
 *   partition (PostgreSQL refuses to create a partition whose range the default partition holds rows for), and
 *   `drop_daily_partitions_before` removes partitions past retention.
 * - Seed 004's monitoring functions `check_index_effectiveness()` and `analyze_query_performance(pattern)`.
 *
 * Every ADD COLUMN has a constant default or none, so none rewrites a table.
 */
export class StatsSchema1732100000003 implements MigrationInterface {
  name = 'StatsSchema1732100000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stats_ledger (
        fact_day  date NOT NULL,
        fact_hash uuid NOT NULL,
        PRIMARY KEY (fact_day, fact_hash)
      ) PARTITION BY RANGE (fact_day)`);
    await q.query(`CREATE TABLE stats_ledger_default PARTITION OF stats_ledger DEFAULT`);

    await q.query(`ALTER TABLE packet_flow ADD COLUMN near_timeout_at timestamptz`);
    await q.query(`
      ALTER TABLE network_stats
        ADD COLUMN acks_successful      bigint   NOT NULL DEFAULT 0,
        ADD COLUMN relay_time_count     bigint   NOT NULL DEFAULT 0,
        ADD COLUMN relay_time_sum_ms    bigint   NOT NULL DEFAULT 0,
        ADD COLUMN relay_time_histogram bigint[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      ALTER TABLE channel_performance
        ADD COLUMN acks_successful   bigint NOT NULL DEFAULT 0,
        ADD COLUMN clear_time_count  bigint NOT NULL DEFAULT 0,
        ADD COLUMN clear_time_sum_ms bigint NOT NULL DEFAULT 0`);
    await q.query(`
      ALTER TABLE relayer_performance
        ADD COLUMN latency_count  bigint NOT NULL DEFAULT 0,
        ADD COLUMN latency_sum_ms bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE TABLE platform_stats (
        scope      text PRIMARY KEY,
        stats      jsonb       NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE OR REPLACE FUNCTION ensure_daily_partitions(parent text, from_day date, to_day date) RETURNS integer
      LANGUAGE plpgsql AS $$
      DECLARE
        d date := from_day;
        created integer := 0;
        part text;
        deflt text := parent || '_default';
        keycol text := substring(pg_get_partkeydef(parent::regclass) FROM '\\((.*)\\)');
        keytype regtype := (SELECT a.atttypid::regtype FROM pg_attribute a
                             WHERE a.attrelid = parent::regclass AND a.attname = keycol);
        lo text;
        hi text;
        waiting bigint;
      BEGIN
        WHILE d <= to_day LOOP
          part := format('%s_%s', parent, to_char(d, 'YYYYMMDD'));
          -- Day bounds in UTC whatever the session's time zone: a date key takes the day itself.
          IF keytype = 'date'::regtype THEN
            lo := d::text;
            hi := (d + 1)::text;
          ELSE
            lo := (d::timestamp AT TIME ZONE 'UTC')::text;
            hi := ((d + 1)::timestamp AT TIME ZONE 'UTC')::text;
          END IF;
          IF to_regclass(part) IS NULL THEN
            waiting := 0;
            IF to_regclass(deflt) IS NOT NULL THEN
              EXECUTE format('SELECT count(*) FROM %I WHERE %I >= %L AND %I < %L', deflt, keycol, lo, keycol, hi) INTO waiting;
            END IF;
            IF waiting = 0 THEN
              EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, parent, lo, hi);
            ELSE
              -- Rows of this day are in the default partition: build the partition beside it, move them, attach.
              EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
              EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
                             deflt, keycol, lo, keycol, hi, part);
              EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, part, lo, hi);
            END IF;
            created := created + 1;
          END IF;
          d := d + 1;
        END LOOP;
        RETURN created;
      END $$`);

    await q.query(`
      CREATE FUNCTION drop_daily_partitions_before(parent text, before_day date) RETURNS integer
      LANGUAGE plpgsql AS $$
      DECLARE
        r record;
        dropped integer := 0;
      BEGIN
        FOR r IN
          SELECT c.relname
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = parent::regclass
             AND c.relname ~ ('^' || parent || '_[0-9]{8}$')
             AND to_date(right(c.relname, 8), 'YYYYMMDD') < before_day
        LOOP
          EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, r.relname);
          EXECUTE format('DROP TABLE %I', r.relname);
          dropped := dropped + 1;
        END LOOP;
        RETURN dropped;
      END $$`);

    // Seed 004's monitoring functions. pg_stat_statements may be absent, so it is only named inside EXECUTE.
    await q.query(`
      CREATE FUNCTION check_index_effectiveness()
      RETURNS TABLE (table_name text, index_name text, index_scans bigint, index_size_bytes bigint, unused boolean)
      LANGUAGE sql STABLE AS $$
        SELECT s.relname::text, s.indexrelname::text, s.idx_scan, pg_relation_size(s.indexrelid), s.idx_scan = 0
          FROM pg_stat_user_indexes s
          JOIN pg_index i ON i.indexrelid = s.indexrelid
         WHERE NOT i.indisunique AND NOT i.indisprimary
         ORDER BY s.idx_scan ASC, pg_relation_size(s.indexrelid) DESC
      $$`);
    await q.query(`
      CREATE FUNCTION analyze_query_performance(pattern text DEFAULT '%', top integer DEFAULT 10)
      RETURNS TABLE (query_id bigint, calls bigint, mean_ms double precision, total_ms double precision, query text)
      LANGUAGE plpgsql STABLE AS $$
      BEGIN
        IF to_regclass('pg_stat_statements') IS NULL THEN
          RETURN;
        END IF;
        RETURN QUERY EXECUTE
          'SELECT queryid, calls, mean_exec_time, total_exec_time, left(query, 500)
             FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query ILIKE $1
            ORDER BY mean_exec_time DESC
            LIMIT $2'
          USING pattern, top;
      END $$`);

    await q.query(
      `SELECT ensure_daily_partitions('stats_ledger', (now() AT TIME ZONE 'UTC')::date - 7, (now() AT TIME ZONE 'UTC')::date + 14)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS analyze_query_performance(text, integer)`);
    await q.query(`DROP FUNCTION IF EXISTS check_index_effectiveness()`);
    await q.query(`DROP FUNCTION IF EXISTS drop_daily_partitions_before(text, date)`);
    await q.query(`DROP TABLE IF EXISTS platform_stats`);
    await q.query(`ALTER TABLE relayer_performance DROP COLUMN latency_count, DROP COLUMN latency_sum_ms`);
    await q.query(`ALTER TABLE channel_performance DROP COLUMN acks_successful, DROP COLUMN clear_time_count, DROP COLUMN clear_time_sum_ms`);
    await q.query(`ALTER TABLE network_stats DROP COLUMN acks_successful, DROP COLUMN relay_time_count,
                   DROP COLUMN relay_time_sum_ms, DROP COLUMN relay_time_histogram`);
    await q.query(`ALTER TABLE packet_flow DROP COLUMN near_timeout_at`);
    await q.query(`DROP TABLE IF EXISTS stats_ledger CASCADE`);
    // The initial schema's version of ensure_daily_partitions is kept: it works, it only cannot move default rows.
  }
}
