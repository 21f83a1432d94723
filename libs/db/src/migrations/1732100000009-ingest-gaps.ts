import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ingest_gaps: spans of heights packet-ingest skipped because no RPC endpoint of the chain had them any more
 * (pruned, or no ABCI results kept). A gap is recorded once, when it is skipped, and never fetched again; packets
 * sent in it are unknown to ingest. Operators list them (docs/ingest.md) and may backfill from an archive node.
 */
export class IngestGaps1732100000009 implements MigrationInterface {
  name = 'IngestGaps1732100000009';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ingest_gaps (
        chain_id     text        NOT NULL,
        from_height  bigint      NOT NULL CHECK (from_height > 0),
        to_height    bigint      NOT NULL,
        reason       text        NOT NULL CHECK (reason IN ('pruned', 'no_results')),
        detail       text        NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (chain_id, from_height),
        CHECK (to_height >= from_height)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ingest_gaps`);
  }
}
