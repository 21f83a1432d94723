import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * - A refused payment that still reached the service (underpaid, made after the quote expired, or paying an
 *   operation already paid) is recorded with why it was refused, so its money goes back (refund reason
 *   `rejected`) and verifying it again gives the same answer. Accepted payments have no rejection.
 * - When the relayer handed each packet of an operation to its chain: with the block time of the clearing
 *   transaction it splits an operation's time into ours and the chain's (the clearing benchmark reports ours).
 */
export class ClearingRefusedPayments1732100000007 implements MigrationInterface {
  name = 'ClearingRefusedPayments1732100000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments ADD COLUMN rejection_code text, ADD COLUMN rejection_message text`);
    await q.query(`ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check`);
    await q.query(`ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check CHECK (reason IN ('failure', 'excess', 'rejected'))`);
    await q.query(`ALTER TABLE clearing_operation_packets ADD COLUMN relayed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clearing_operation_packets DROP COLUMN IF EXISTS relayed_at`);
    await q.query(`DELETE FROM refunds WHERE reason = 'rejected'`);
    await q.query(`ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check`);
    await q.query(`ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check CHECK (reason IN ('failure', 'excess'))`);
    await q.query(`DELETE FROM payments WHERE rejection_code IS NOT NULL`);
    await q.query(`ALTER TABLE payments DROP COLUMN IF EXISTS rejection_code, DROP COLUMN IF EXISTS rejection_message`);
  }
}
