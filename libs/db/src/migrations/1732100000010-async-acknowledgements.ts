import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Acknowledgements written later than the receipt (ICS-4 async acks: packet-forward middleware writes the ack of a
 * forwarded packet only when the next hop acknowledges it; CosmWasm contracts may too).
 *
 * - `ack_pending`: the receiving transaction wrote no acknowledgement (a fact, merged like every other);
 * - `ack_written_height` / `ack_written_time`: where the destination wrote it: the receipt's own height for a
 *   synchronous ack, a later one for an async ack.
 *
 * A received packet awaits its acknowledgement's relay (awaiting_ack, clearable) only once the ack is written:
 * `ack_written_height IS NOT NULL OR NOT ack_pending`. Rows from before keep the old meaning (ack_pending is null:
 * written), so no table rewrite or backfill is needed: the columns have no default and are null.
 */
export class AsyncAcknowledgements1732100000010 implements MigrationInterface {
  name = 'AsyncAcknowledgements1732100000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE packet_flow ADD COLUMN ack_pending boolean, ADD COLUMN ack_written_height bigint, ADD COLUMN ack_written_time timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE packet_flow DROP COLUMN ack_pending, DROP COLUMN ack_written_height, DROP COLUMN ack_written_time`);
  }
}
