import { Column, DeleteDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export type ClearingStatus = 'quoted' | 'paid' | 'clearing' | 'completed' | 'failed' | 'refunded' | 'expired';

/** Money is numeric(78,0) in integer base units, read as a decimal string: no floats anywhere. */
@Entity({ name: 'clearing_operations' })
export class ClearingOperation {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text', name: 'wallet_address' }) walletAddress!: string;
  @Column({ type: 'text', name: 'chain_id' }) chainId!: string;
  @Column({ type: 'text' }) status!: ClearingStatus;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'integer', name: 'packet_count' }) packetCount!: number;
  @Column({ type: 'integer', name: 'packets_cleared' }) packetsCleared!: number;
  @Column({ type: 'text', name: 'fee_denom' }) feeDenom!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0, name: 'base_fee' }) baseFee!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0, name: 'per_packet_fee' }) perPacketFee!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0, name: 'gas_fee' }) gasFee!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0, name: 'total_fee' }) totalFee!: string;
  @Column({ type: 'text', name: 'payment_address' }) paymentAddress!: string;
  @Column({ type: 'text', name: 'payment_tx_hash', nullable: true }) paymentTxHash!: string | null;
  @Column({ type: 'text', name: 'clearing_tx_hash', nullable: true }) clearingTxHash!: string | null;
  @Column({ type: 'boolean', nullable: true }) success!: boolean | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'updated_at', insert: false }) updatedAt!: Date;
  @Column({ type: 'timestamptz', name: 'completed_at', nullable: true }) completedAt!: Date | null;
  @DeleteDateColumn({ type: 'timestamptz', name: 'deleted_at', nullable: true }) deletedAt!: Date | null;
}

@Entity({ name: 'clearing_operation_packets' })
export class ClearingOperationPacket {
  @PrimaryColumn({ type: 'uuid', name: 'operation_id' }) operationId!: string;
  @PrimaryColumn({ type: 'text', name: 'src_chain_id' }) srcChainId!: string;
  @PrimaryColumn({ type: 'text', name: 'src_port' }) srcPort!: string;
  @PrimaryColumn({ type: 'text', name: 'src_channel' }) srcChannel!: string;
  @PrimaryColumn({ type: 'bigint' }) sequence!: string;
  @Column({ type: 'text', name: 'stuck_kind' }) stuckKind!: 'awaiting_recv' | 'awaiting_ack' | 'timeout_pending';
  @Column({ type: 'text' }) state!: 'pending' | 'relayed' | 'cleared' | 'failed';
  @Column({ type: 'text', name: 'tx_hash', nullable: true }) txHash!: string | null;
  @Column({ type: 'timestamptz', name: 'updated_at', insert: false }) updatedAt!: Date;
}

/** Only the SHA-256 of a one-time token is stored; the token itself is shown to the wallet once. */
@Entity({ name: 'clearing_tokens' })
export class ClearingToken {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'uuid', name: 'operation_id' }) operationId!: string;
  @Column({ type: 'char', length: 64, name: 'token_hash' }) tokenHash!: string;
  @Column({ type: 'text', name: 'wallet_address' }) walletAddress!: string;
  @Column({ type: 'timestamptz', name: 'expires_at' }) expiresAt!: Date;
  @Column({ type: 'timestamptz', name: 'used_at', nullable: true }) usedAt!: Date | null;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false, update: false }) createdAt!: Date;
}

@Entity({ name: 'payments' })
export class Payment {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** Null for a payment naming no known operation (an unknown token): recorded, and refunded. */
  @Column({ type: 'uuid', name: 'operation_id', nullable: true }) operationId!: string | null;
  @Column({ type: 'text', name: 'chain_id' }) chainId!: string;
  @Column({ type: 'text', name: 'tx_hash' }) txHash!: string;
  @Column({ type: 'bigint' }) height!: string;
  @Column({ type: 'text' }) payer!: string;
  @Column({ type: 'text' }) recipient!: string;
  @Column({ type: 'text' }) denom!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0 }) amount!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0, name: 'excess_amount' }) excessAmount!: string;
  @Column({ type: 'text' }) memo!: string;
  @Column({ type: 'text', name: 'detected_by' }) detectedBy!: 'user' | 'ingest';
  /** Set when the payment reached us but was refused (its money is refunded with reason `rejected`). */
  @Column({ type: 'text', name: 'rejection_code', nullable: true }) rejectionCode!: string | null;
  @Column({ type: 'text', name: 'rejection_message', nullable: true }) rejectionMessage!: string | null;
  /** Every coin the transaction sent to the service address: [{from, denom, amount}]. */
  @Column({ type: 'jsonb', nullable: true }) received!: Array<{ from: string; denom: string; amount: string }> | null;
  @Column({ type: 'timestamptz', name: 'verified_at', insert: false }) verifiedAt!: Date;
}

@Entity({ name: 'refunds' })
export class Refund {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'uuid', name: 'operation_id', nullable: true }) operationId!: string | null;
  @Column({ type: 'uuid', name: 'payment_id' }) paymentId!: string;
  @Column({ type: 'text' }) reason!: 'failure' | 'excess' | 'rejected';
  @Column({ type: 'text', name: 'chain_id' }) chainId!: string;
  @Column({ type: 'text' }) recipient!: string;
  @Column({ type: 'text' }) denom!: string;
  @Column({ type: 'numeric', precision: 78, scale: 0 }) amount!: string;
  @Column({ type: 'text', name: 'refund_status' }) refundStatus!: 'pending' | 'broadcast' | 'confirmed' | 'failed';
  @Column({ type: 'text', name: 'tx_hash', nullable: true }) txHash!: string | null;
  @Column({ type: 'integer' }) attempts!: number;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false, update: false }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'updated_at', insert: false }) updatedAt!: Date;
}
