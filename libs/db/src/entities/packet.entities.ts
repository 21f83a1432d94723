import { Column, Entity, PrimaryColumn } from 'typeorm';

/** int8 and numeric columns are read as strings: uint64 sequences and token amounts overflow JavaScript numbers. */
@Entity({ name: 'ingest_cursors' })
export class IngestCursor {
  @PrimaryColumn({ type: 'text', name: 'chain_id' }) chainId!: string;
  @Column({ type: 'bigint' }) height!: string;
  @Column({ type: 'timestamptz', name: 'block_time', nullable: true }) blockTime!: Date | null;
  @Column({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

@Entity({ name: 'packet_keys' })
export class PacketKey {
  @PrimaryColumn({ type: 'text', name: 'src_chain_id' }) srcChainId!: string;
  @PrimaryColumn({ type: 'text', name: 'src_port' }) srcPort!: string;
  @PrimaryColumn({ type: 'text', name: 'src_channel' }) srcChannel!: string;
  @PrimaryColumn({ type: 'bigint' }) sequence!: string;
  @Column({ type: 'bigint', insert: false, update: false }) id!: string;
  @Column({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
}

@Entity({ name: 'packet_flow' })
export class PacketFlow {
  @PrimaryColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @PrimaryColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text', name: 'src_chain_id' }) srcChainId!: string;
  @Column({ type: 'text', name: 'src_port' }) srcPort!: string;
  @Column({ type: 'text', name: 'src_channel' }) srcChannel!: string;
  @Column({ type: 'bigint' }) sequence!: string;
  @Column({ type: 'text', name: 'dst_chain_id', nullable: true }) dstChainId!: string | null;
  @Column({ type: 'text', name: 'dst_port', nullable: true }) dstPort!: string | null;
  @Column({ type: 'text', name: 'dst_channel', nullable: true }) dstChannel!: string | null;
  @Column({ type: 'text', name: 'connection_id', nullable: true }) connectionId!: string | null;
  @Column({ type: 'text', name: 'channel_ordering', nullable: true }) channelOrdering!: string | null;
  @Column({ type: 'text' }) status!: 'sent' | 'received' | 'acknowledged' | 'timed_out';
  @Column({ type: 'text', name: 'stuck_kind', nullable: true })
  stuckKind!: 'awaiting_recv' | 'awaiting_ack' | 'timeout_pending' | null;
  @Column({ type: 'timestamptz', name: 'stuck_since', nullable: true }) stuckSince!: Date | null;
  @Column({ type: 'text', nullable: true }) sender!: string | null;
  @Column({ type: 'text', nullable: true }) receiver!: string | null;
  @Column({ type: 'text', nullable: true }) denom!: string | null;
  @Column({ type: 'numeric', precision: 78, scale: 0, nullable: true }) amount!: string | null;
  @Column({ type: 'text', nullable: true }) memo!: string | null;
  @Column({ type: 'bigint', name: 'timeout_revision_number' }) timeoutRevisionNumber!: string;
  @Column({ type: 'bigint', name: 'timeout_revision_height' }) timeoutRevisionHeight!: string;
  @Column({ type: 'numeric', precision: 20, scale: 0, name: 'timeout_timestamp_ns' }) timeoutTimestampNs!: string;
  @Column({ type: 'bigint', name: 'send_height', nullable: true }) sendHeight!: string | null;
  @Column({ type: 'timestamptz', name: 'send_time', nullable: true }) sendTime!: Date | null;
  @Column({ type: 'text', name: 'send_tx_hash', nullable: true }) sendTxHash!: string | null;
  @Column({ type: 'bigint', name: 'recv_height', nullable: true }) recvHeight!: string | null;
  @Column({ type: 'timestamptz', name: 'recv_time', nullable: true }) recvTime!: Date | null;
  @Column({ type: 'text', name: 'recv_tx_hash', nullable: true }) recvTxHash!: string | null;
  @Column({ type: 'text', name: 'recv_relayer', nullable: true }) recvRelayer!: string | null;
  @Column({ type: 'bigint', name: 'ack_height', nullable: true }) ackHeight!: string | null;
  @Column({ type: 'timestamptz', name: 'ack_time', nullable: true }) ackTime!: Date | null;
  @Column({ type: 'text', name: 'ack_tx_hash', nullable: true }) ackTxHash!: string | null;
  @Column({ type: 'text', name: 'ack_relayer', nullable: true }) ackRelayer!: string | null;
  @Column({ type: 'boolean', name: 'ack_success', nullable: true }) ackSuccess!: boolean | null;
  @Column({ type: 'timestamptz', name: 'timeout_time', nullable: true }) timeoutTime!: Date | null;
  @Column({ type: 'text', name: 'timeout_tx_hash', nullable: true }) timeoutTxHash!: string | null;
  @Column({ type: 'text', name: 'timeout_relayer', nullable: true }) timeoutRelayer!: string | null;
  @Column({ type: 'integer', name: 'relay_attempts' }) relayAttempts!: number;
  @Column({ type: 'bigint', name: 'clear_time_ms', nullable: true }) clearTimeMs!: string | null;
  @Column({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

@Entity({ name: 'packet_relays' })
export class PacketRelay {
  @PrimaryColumn({ type: 'timestamptz', name: 'block_time' }) blockTime!: Date;
  @PrimaryColumn({ type: 'text', name: 'chain_id' }) chainId!: string;
  @PrimaryColumn({ type: 'text', name: 'tx_hash' }) txHash!: string;
  @PrimaryColumn({ type: 'integer', name: 'msg_index' }) msgIndex!: number;
  @Column({ type: 'text' }) kind!: 'recv' | 'ack' | 'timeout';
  @Column({ type: 'text', name: 'src_chain_id' }) srcChainId!: string;
  @Column({ type: 'text', name: 'src_port' }) srcPort!: string;
  @Column({ type: 'text', name: 'src_channel' }) srcChannel!: string;
  @Column({ type: 'bigint' }) sequence!: string;
  @Column({ type: 'text' }) relayer!: string;
  @Column({ type: 'boolean' }) effected!: boolean;
  @Column({ type: 'bigint' }) height!: string;
}
