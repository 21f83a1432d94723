import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * channel_counterparties: the chain at the other end of a channel that chain-registry and the chains file do not
 * know, as packet-ingest read it from chain state (abci_query of ibc-go's ChannelClientState: the channel's light
 * client names the counterparty chain id). Read into the counterparty directory at start.
 */
export class ChannelCounterparties1732100000011 implements MigrationInterface {
  name = 'ChannelCounterparties1732100000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channel_counterparties (
        chain_id               text        NOT NULL,
        port                   text        NOT NULL,
        channel                text        NOT NULL,
        counterparty_chain_id  text        NOT NULL,
        source                 text        NOT NULL CHECK (source IN ('abci_query')),
        resolved_at            timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, port, channel)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE channel_counterparties`);
  }
}
