import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole data model of seeds 000 and 004 on empty tables. Indexes on tables that may already hold data in a
 * running system are built CONCURRENTLY by the next migration; packet_flow and packet_relays are partitioned
 * tables, which PostgreSQL cannot index concurrently, so theirs are created here, while the tables are empty, and
 * new partitions inherit them. See docs/data-model.md for the reasoning behind the keys.
 */
export class InitialSchema1732100000000 implements MigrationInterface {
  name = 'InitialSchema1732100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ingest_cursors (
        chain_id     text PRIMARY KEY,
        height       bigint NOT NULL CHECK (height >= 0),
        block_time   timestamptz,
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);

    // Identity → partition placement. Unique across all partitions, which a partitioned table cannot enforce
    // by itself (its unique indexes must contain the partition key).
    await q.query(`
      CREATE TABLE packet_keys (
        src_chain_id text   NOT NULL,
        src_port     text   NOT NULL,
        src_channel  text   NOT NULL,
        sequence     bigint NOT NULL CHECK (sequence > 0),
        id           bigint GENERATED ALWAYS AS IDENTITY,
        created_at   timestamptz NOT NULL,
        PRIMARY KEY (src_chain_id, src_port, src_channel, sequence),
        UNIQUE (id)
      )`);

    await q.query(`
      CREATE TABLE packet_flow (
        id                      bigint      NOT NULL,
        created_at              timestamptz NOT NULL,
        src_chain_id            text        NOT NULL,
        src_port                text        NOT NULL,
        src_channel             text        NOT NULL,
        sequence                bigint      NOT NULL CHECK (sequence > 0),
        dst_chain_id            text,
        dst_port                text,
        dst_channel             text,
        connection_id           text,
        channel_ordering        text,
        status                  text        NOT NULL DEFAULT 'sent'
                                 CHECK (status IN ('sent', 'received', 'acknowledged', 'timed_out')),
        stuck_kind              text CHECK (stuck_kind IN ('awaiting_recv', 'awaiting_ack', 'timeout_pending')),
        stuck_since             timestamptz,
        sender                  text,
        receiver                text,
        denom                   text,
        amount                  numeric(78, 0) CHECK (amount >= 0),
        memo                    text,
        timeout_revision_number bigint      NOT NULL DEFAULT 0,
        timeout_revision_height bigint      NOT NULL DEFAULT 0,
        timeout_timestamp_ns    numeric(20, 0) NOT NULL DEFAULT 0,
        send_height             bigint,
        send_time               timestamptz,
        send_tx_hash            text,
        recv_height             bigint,
        recv_time               timestamptz,
        recv_tx_hash            text,
        recv_relayer            text,
        ack_height              bigint,
        ack_time                timestamptz,
        ack_tx_hash             text,
        ack_relayer             text,
        ack_success             boolean,
        timeout_time            timestamptz,
        timeout_tx_hash         text,
        timeout_relayer         text,
        relay_attempts          integer     NOT NULL DEFAULT 0,
        clear_time_ms           bigint,
        updated_at              timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (created_at, id),
        UNIQUE (created_at, src_chain_id, src_port, src_channel, sequence)
      ) PARTITION BY RANGE (created_at)`);

    // One row per relay message seen (recv, ack or timeout), effected or frontrun: the relayer statistics'
    // source. Its partition key, the block time of the relay, is known from the event itself.
    await q.query(`
      CREATE TABLE packet_relays (
        block_time    timestamptz NOT NULL,
        chain_id      text        NOT NULL,
        tx_hash       text        NOT NULL,
        msg_index     integer     NOT NULL,
        kind          text        NOT NULL CHECK (kind IN ('recv', 'ack', 'timeout')),
        src_chain_id  text        NOT NULL,
        src_port      text        NOT NULL,
        src_channel   text        NOT NULL,
        sequence      bigint      NOT NULL,
        relayer       text        NOT NULL,
        effected      boolean     NOT NULL,
        height        bigint      NOT NULL,
        PRIMARY KEY (block_time, chain_id, tx_hash, msg_index)
      ) PARTITION BY RANGE (block_time)`);

    // Daily partitions, created ahead of time; rows outside every range land in the default partition rather
    // than failing the ingest (a backfill from an old start_height, a chain with a wrong clock).
    await q.query(`
      CREATE FUNCTION ensure_daily_partitions(parent text, from_day date, to_day date) RETURNS integer
      LANGUAGE plpgsql AS $$
      DECLARE
        d date := from_day;
        created integer := 0;
        part text;
      BEGIN
        WHILE d <= to_day LOOP
          part := format('%s_%s', parent, to_char(d, 'YYYYMMDD'));
          IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, parent, d::timestamptz, (d + 1)::timestamptz);
            created := created + 1;
          END IF;
          d := d + 1;
        END LOOP;
        RETURN created;
      END $$`);
    for (const parent of ['packet_flow', 'packet_relays']) {
      await q.query(`CREATE TABLE ${parent}_default PARTITION OF ${parent} DEFAULT`);
      await q.query(
        `SELECT ensure_daily_partitions('${parent}', (now() AT TIME ZONE 'UTC')::date - 7, (now() AT TIME ZONE 'UTC')::date + 14)`,
      );
    }

    // packet_flow indexes (see docs/data-model.md for the query each one serves).
    await q.query(`CREATE INDEX idx_packet_flow_status_created ON packet_flow (status, created_at)
                   WHERE status IN ('sent', 'received')`);
    await q.query(`CREATE INDEX idx_packet_flow_channel_sequence ON packet_flow (src_chain_id, src_channel, sequence)`);
    await q.query(`CREATE INDEX idx_packet_flow_sender_stuck ON packet_flow (sender, stuck_since)
                   WHERE stuck_kind IS NOT NULL`);
    await q.query(`CREATE INDEX idx_packet_flow_receiver_stuck ON packet_flow (receiver, stuck_since)
                   WHERE stuck_kind IS NOT NULL`);
    await q.query(`CREATE INDEX idx_packet_flow_dst_channel_created ON packet_flow (dst_chain_id, dst_channel, created_at)`);
    await q.query(`CREATE INDEX idx_packet_relays_relayer_time ON packet_relays (relayer, block_time)`);
    await q.query(`CREATE INDEX idx_packet_relays_packet ON packet_relays (src_chain_id, src_port, src_channel, sequence, kind)`);

    await q.query(`
      CREATE TABLE clearing_operations (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        wallet_address    text        NOT NULL,
        chain_id          text        NOT NULL,
        status            text        NOT NULL DEFAULT 'quoted'
                           CHECK (status IN ('quoted', 'paid', 'clearing', 'completed', 'failed', 'refunded', 'expired')),
        version           integer     NOT NULL DEFAULT 1,
        packet_count      integer     NOT NULL CHECK (packet_count > 0),
        packets_cleared   integer     NOT NULL DEFAULT 0,
        fee_denom         text        NOT NULL,
        base_fee          numeric(78, 0) NOT NULL CHECK (base_fee >= 0),
        per_packet_fee    numeric(78, 0) NOT NULL CHECK (per_packet_fee >= 0),
        gas_fee           numeric(78, 0) NOT NULL CHECK (gas_fee >= 0),
        total_fee         numeric(78, 0) NOT NULL CHECK (total_fee >= 0),
        payment_address   text        NOT NULL,
        payment_tx_hash   text,
        clearing_tx_hash  text,
        success           boolean,
        error             text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        completed_at      timestamptz,
        deleted_at        timestamptz
      )`);
    await q.query(`
      CREATE TABLE clearing_operation_packets (
        operation_id  uuid   NOT NULL REFERENCES clearing_operations (id) ON DELETE CASCADE,
        src_chain_id  text   NOT NULL,
        src_port      text   NOT NULL,
        src_channel   text   NOT NULL,
        sequence      bigint NOT NULL,
        stuck_kind    text   NOT NULL CHECK (stuck_kind IN ('awaiting_recv', 'awaiting_ack', 'timeout_pending')),
        state         text   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'relayed', 'cleared', 'failed')),
        tx_hash       text,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (operation_id, src_chain_id, src_port, src_channel, sequence)
      )`);
    await q.query(`
      CREATE TABLE clearing_tokens (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        operation_id  uuid        NOT NULL UNIQUE REFERENCES clearing_operations (id) ON DELETE CASCADE,
        token_hash    char(64)    NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
        wallet_address text       NOT NULL,
        expires_at    timestamptz NOT NULL,
        used_at       timestamptz,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE payments (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        operation_id   uuid        NOT NULL REFERENCES clearing_operations (id),
        chain_id       text        NOT NULL,
        tx_hash        text        NOT NULL,
        height         bigint      NOT NULL,
        payer          text        NOT NULL,
        recipient      text        NOT NULL,
        denom          text        NOT NULL,
        amount         numeric(78, 0) NOT NULL CHECK (amount > 0),
        excess_amount  numeric(78, 0) NOT NULL DEFAULT 0 CHECK (excess_amount >= 0),
        memo           text        NOT NULL,
        detected_by    text        NOT NULL CHECK (detected_by IN ('user', 'ingest')),
        verified_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_payments_tx_hash UNIQUE (chain_id, tx_hash)
      )`);
    await q.query(`
      CREATE TABLE refunds (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        operation_id   uuid        NOT NULL REFERENCES clearing_operations (id),
        payment_id     uuid        NOT NULL REFERENCES payments (id),
        reason         text        NOT NULL CHECK (reason IN ('failure', 'excess')),
        chain_id       text        NOT NULL,
        recipient      text        NOT NULL,
        denom          text        NOT NULL,
        amount         numeric(78, 0) NOT NULL CHECK (amount > 0),
        refund_status  text        NOT NULL DEFAULT 'pending'
                        CHECK (refund_status IN ('pending', 'broadcast', 'confirmed', 'failed')),
        tx_hash        text UNIQUE,
        attempts       integer     NOT NULL DEFAULT 0,
        error          text,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        -- Never refunded twice: one refund per payment and reason.
        CONSTRAINT uq_refunds_payment_reason UNIQUE (payment_id, reason)
      )`);

    await q.query(`
      CREATE TABLE network_stats (
        chain_id            text    NOT NULL,
        date                date    NOT NULL,
        packets_sent        bigint  NOT NULL DEFAULT 0,
        packets_received    bigint  NOT NULL DEFAULT 0,
        packets_acknowledged bigint NOT NULL DEFAULT 0,
        packets_timed_out   bigint  NOT NULL DEFAULT 0,
        success_rate        numeric(5, 2) CHECK (success_rate BETWEEN 0 AND 100),
        avg_relay_time_ms   bigint,
        p95_relay_time_ms   bigint,
        updated_at          timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_network_stats_chain_date UNIQUE (chain_id, date)
      )`);
    await q.query(`
      CREATE TABLE channel_performance (
        chain_id              text        NOT NULL,
        channel_id            text        NOT NULL,
        hour                  timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
        counterparty_chain_id text,
        counterparty_channel_id text,
        packets_sent          bigint      NOT NULL DEFAULT 0,
        packets_received      bigint      NOT NULL DEFAULT 0,
        packets_acknowledged  bigint      NOT NULL DEFAULT 0,
        packets_timed_out     bigint      NOT NULL DEFAULT 0,
        success_rate          numeric(5, 2) CHECK (success_rate BETWEEN 0 AND 100),
        avg_clear_time_ms     bigint,
        pending_backlog       bigint      NOT NULL DEFAULT 0,
        stuck_count           bigint      NOT NULL DEFAULT 0,
        congestion_score      smallint    CHECK (congestion_score BETWEEN 0 AND 100),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_channel_performance_hour UNIQUE (chain_id, channel_id, hour)
      )`);
    await q.query(`
      CREATE TABLE relayer_performance (
        relayer_address     text    NOT NULL,
        chain_id            text    NOT NULL,
        date                date    NOT NULL,
        packets_relayed     bigint  NOT NULL DEFAULT 0,
        packets_effected    bigint  NOT NULL DEFAULT 0,
        packets_frontrun    bigint  NOT NULL DEFAULT 0,
        frontrun_by         jsonb   NOT NULL DEFAULT '{}'::jsonb,
        avg_latency_ms      bigint,
        reputation_score    smallint CHECK (reputation_score BETWEEN 0 AND 100),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_relayer_performance_day UNIQUE (relayer_address, chain_id, date)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'relayer_performance',
      'channel_performance',
      'network_stats',
      'refunds',
      'payments',
      'clearing_tokens',
      'clearing_operation_packets',
      'clearing_operations',
      'packet_relays',
      'packet_flow',
      'packet_keys',
      'ingest_cursors',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    }
    await q.query(`DROP FUNCTION IF EXISTS ensure_daily_partitions(text, date, date)`);
  }
}
