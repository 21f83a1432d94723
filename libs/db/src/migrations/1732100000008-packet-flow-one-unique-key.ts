import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * packet_flow keeps one unique index, its primary key (created_at, id), and loses UNIQUE (created_at, src_chain_id,
 * src_port, src_channel, sequence).
 *
 * INSERT … ON CONFLICT DO UPDATE tolerates a concurrent insert of the same row only on its arbiter index: a
 * conflict found on any other unique index raises unique_violation. Two transactions writing the same new packet
 * at once (its send ingested from one chain while its recv comes from another, in two writer lanes) each passed
 * the arbiter's check and then collided on the primary key. With a single unique index the second writer waits
 * for the first and merges into its row.
 *
 * The dropped constraint promised nothing packet_keys does not: every row's (created_at, id) is read from
 * packet_keys, whose primary key is the source side, so one source side has one id. Lookups by source side use
 * idx_packet_flow_channel_sequence, or join packet_keys.
 */
export class PacketFlowOneUniqueKey1732100000008 implements MigrationInterface {
  name = 'PacketFlowOneUniqueKey1732100000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE packet_flow DROP CONSTRAINT packet_flow_created_at_src_chain_id_src_port_src_channel_se_key`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE packet_flow ADD UNIQUE (created_at, src_chain_id, src_port, src_channel, sequence)`);
  }
}
