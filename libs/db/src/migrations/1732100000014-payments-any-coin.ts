import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every payment that reaches the service address with a `CLR-` memo is recorded and what cannot pay goes back,
 * whatever its denom and whoever it names:
 * - `payments.received`: every coin the transaction's bank messages (MsgSend, MsgMultiSend, inside authz MsgExec)
 *   sent to the service address, as `[{"from","denom","amount"}]`; `amount` stays the quoted denom's part, which
 *   is 0 for a payment in another denom only;
 * - a payment naming no known operation (an unknown or mistyped token) is recorded with no operation, and so is
 *   its refund;
 * - a refund is one coin to one account: unique per payment, reason, recipient and denom (a payment in two denoms
 *   from two senders gets back four refunds at most, never one twice).
 */
export class PaymentsAnyCoin1732100000014 implements MigrationInterface {
  name = 'PaymentsAnyCoin1732100000014';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments ALTER COLUMN operation_id DROP NOT NULL`);
    await q.query(`ALTER TABLE payments DROP CONSTRAINT payments_amount_check, ADD CONSTRAINT payments_amount_check CHECK (amount >= 0)`);
    await q.query(`ALTER TABLE payments ADD COLUMN received jsonb`);
    await q.query(`ALTER TABLE refunds ALTER COLUMN operation_id DROP NOT NULL`);
    await q.query(`ALTER TABLE refunds DROP CONSTRAINT uq_refunds_payment_reason`);
    await q.query(`ALTER TABLE refunds ADD CONSTRAINT uq_refunds_payment_reason_coin UNIQUE (payment_id, reason, recipient, denom)`);
    await q.query(`CREATE INDEX idx_refunds_payment ON refunds (payment_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_refunds_payment`);
    await q.query(`DELETE FROM refunds r WHERE r.operation_id IS NULL OR EXISTS (SELECT 1 FROM refunds o WHERE o.payment_id = r.payment_id AND o.reason = r.reason AND o.id < r.id)`);
    await q.query(`ALTER TABLE refunds DROP CONSTRAINT uq_refunds_payment_reason_coin`);
    await q.query(`ALTER TABLE refunds ADD CONSTRAINT uq_refunds_payment_reason UNIQUE (payment_id, reason)`);
    await q.query(`ALTER TABLE refunds ALTER COLUMN operation_id SET NOT NULL`);
    await q.query(`DELETE FROM payments p WHERE p.operation_id IS NULL OR p.amount = 0`);
    await q.query(`ALTER TABLE payments DROP COLUMN IF EXISTS received`);
    await q.query(`ALTER TABLE payments DROP CONSTRAINT payments_amount_check, ADD CONSTRAINT payments_amount_check CHECK (amount > 0)`);
    await q.query(`ALTER TABLE payments ALTER COLUMN operation_id SET NOT NULL`);
  }
}
