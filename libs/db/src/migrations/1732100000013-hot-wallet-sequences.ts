import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refunds signed one at a time per hot wallet, with the account sequence tracked explicitly.
 *
 * - `hot_wallet_accounts`: one row per hot wallet and chain; a refund signs and hands its transaction to the node
 *   holding this row's lock (`FOR UPDATE`), so two refunds never sign the same sequence, and `next_sequence` is the
 *   sequence after the last transaction the node accepted (a node's account query answers the committed sequence,
 *   which lags transactions still in the mempool).
 * - `refunds.abandoned_tx_hashes`: a refund whose signed transaction can never land (refused for its sequence, in
 *   no block) is signed again; the hashes it gave up are kept, so what was signed is never forgotten.
 */
export class HotWalletSequences1732100000013 implements MigrationInterface {
  name = 'HotWalletSequences1732100000013';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE hot_wallet_accounts (
        chain_id       text        NOT NULL,
        address        text        NOT NULL,
        next_sequence  bigint,
        updated_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, address)
      )`);
    await q.query(`ALTER TABLE refunds ADD COLUMN abandoned_tx_hashes text[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE refunds DROP COLUMN abandoned_tx_hashes`);
    await q.query(`DROP TABLE hot_wallet_accounts`);
  }
}
