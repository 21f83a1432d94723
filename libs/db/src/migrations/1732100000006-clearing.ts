import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the clearing service needs beyond the initial tables:
 * - the payment chain of an operation and where its token's quote sends the money (chain, denom, address);
 * - a refund's signed transaction, kept so that a retry re-broadcasts the same bytes (same account sequence, same
 *   hash) instead of signing a second refund;
 */
export class Clearing1732100000006 implements MigrationInterface {
  name = 'Clearing1732100000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clearing_operations ADD COLUMN payment_chain_id text`);
    await q.query(`ALTER TABLE clearing_operations ADD COLUMN expires_at timestamptz`);
    await q.query(`ALTER TABLE refunds ADD COLUMN signed_tx bytea`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE refunds DROP COLUMN IF EXISTS signed_tx`);
    await q.query(`ALTER TABLE clearing_operations DROP COLUMN IF EXISTS expires_at`);
    await q.query(`ALTER TABLE clearing_operations DROP COLUMN IF EXISTS payment_chain_id`);
  }
}
