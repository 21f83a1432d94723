import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * clearing_packet_holds: one row per packet that a clearing operation holds, so the database — not a check before
 * an insert — forbids selling one packet twice. Its primary key is the packet; `live_until` says how long the
 * holder keeps it: the quote's expiry while quoted, 'infinity' once paid, '-infinity' once the operation ended
 * (completed, failed, refunded). A new quote takes a hold only where `live_until` has passed, in
 * `INSERT … ON CONFLICT DO UPDATE … WHERE live_until <= now()`, which PostgreSQL judges on the row's latest
 * committed version (it waits for a concurrent holder's transaction): of N concurrent quotes exactly one wins.
 * A payment is accepted only while its operation still holds every packet (rows locked, then 'infinity').
 *
 * Backfill: the packets of live operations (paid or clearing: 'infinity'; quoted and unexpired: their expiry),
 * first come first held where two live operations already share a packet.
 */
export class ClearingPacketHolds1732100000012 implements MigrationInterface {
  name = 'ClearingPacketHolds1732100000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE clearing_packet_holds (
        src_chain_id  text        NOT NULL,
        src_port      text        NOT NULL,
        src_channel   text        NOT NULL,
        sequence      bigint      NOT NULL,
        operation_id  uuid        NOT NULL REFERENCES clearing_operations (id) ON DELETE CASCADE,
        live_until    timestamptz NOT NULL,
        held_since    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (src_chain_id, src_port, src_channel, sequence)
      )`);
    await q.query(`CREATE INDEX idx_clearing_packet_holds_operation ON clearing_packet_holds (operation_id)`);
    await q.query(`
      INSERT INTO clearing_packet_holds (src_chain_id, src_port, src_channel, sequence, operation_id, live_until)
      SELECT p.src_chain_id, p.src_port, p.src_channel, p.sequence, o.id,
             CASE WHEN o.status IN ('paid', 'clearing') THEN 'infinity'::timestamptz ELSE o.expires_at END
        FROM clearing_operation_packets p JOIN clearing_operations o ON o.id = p.operation_id
       WHERE o.status IN ('paid', 'clearing') OR (o.status = 'quoted' AND o.expires_at > now())
       ORDER BY o.created_at
      ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE clearing_packet_holds`);
  }
}
