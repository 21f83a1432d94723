import type { MigrationInterface, QueryRunner } from 'typeorm';
import { buildPartitionedIndex } from './1732100000004-stats-indexes';

/**
 * Indexes for the API's wallet listings, built without blocking ingest (see buildPartitionedIndex):
 * a wallet's packets newest first, as sender and as receiver — the keyset (created_at, id) of
 * `GET /packets/stream?wallet=`, read as two index scans merged.
 */
export const GATEWAY_PACKET_FLOW_INDEXES: ReadonlyArray<{ name: string; suffix: string; definition: string }> = [
  { name: 'idx_packet_flow_sender_created', suffix: 'sender_created', definition: '(sender, created_at DESC, id DESC)' },
  { name: 'idx_packet_flow_receiver_created', suffix: 'receiver_created', definition: '(receiver, created_at DESC, id DESC)' },
];

export class GatewayIndexes1732100000005 implements MigrationInterface {
  name = 'GatewayIndexes1732100000005';
  transaction = false as const;

  async up(q: QueryRunner): Promise<void> {
    for (const index of GATEWAY_PACKET_FLOW_INDEXES) await buildPartitionedIndex(q, 'packet_flow', index);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const { name } of [...GATEWAY_PACKET_FLOW_INDEXES].reverse()) await q.query(`DROP INDEX IF EXISTS ${name}`);
  }
}
