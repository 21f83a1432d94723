import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * channel_pending: each followed channel as its chains showed it at the reconciler's last pass — the channel's
 * state and ordering, the light clients' status on both ends, the packets whose commitment the source still holds,
 * those the destination has not received (the first 100 listed), and the oldest of each. The API's
 * `GET /channels/{chain_id}/{channel}/pending` answers from it: the chain's own view, never older than a pass.
 */
export class ChannelPending1732100000015 implements MigrationInterface {
  name = 'ChannelPending1732100000015';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channel_pending (
        chain_id                    text        NOT NULL,
        port                        text        NOT NULL,
        channel                     text        NOT NULL,
        counterparty_chain_id       text        NOT NULL,
        counterparty_channel        text        NOT NULL,
        channel_state               text        NOT NULL,
        ordering                    text        NOT NULL,
        client_id                   text        NOT NULL,
        client_status               text        NOT NULL,
        counterparty_client_status  text        NOT NULL,
        pending_count               integer     NOT NULL CHECK (pending_count >= 0),
        unreceived_count            integer     NOT NULL CHECK (unreceived_count >= 0),
        oldest_pending_sequence     numeric(20, 0),
        oldest_unreceived_sequence  numeric(20, 0),
        unreceived_sample           numeric(20, 0)[] NOT NULL DEFAULT '{}',
        reconciled_at               timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, port, channel)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE channel_pending`);
  }
}
