import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'network_stats' })
export class NetworkStats {
  @PrimaryColumn({ type: 'text', name: 'chain_id' }) chainId!: string;
  @PrimaryColumn({ type: 'date' }) date!: string;
  @Column({ type: 'bigint', name: 'packets_sent' }) packetsSent!: string;
  @Column({ type: 'bigint', name: 'packets_received' }) packetsReceived!: string;
  @Column({ type: 'bigint', name: 'packets_acknowledged' }) packetsAcknowledged!: string;
  @Column({ type: 'bigint', name: 'packets_timed_out' }) packetsTimedOut!: string;
  @Column({ type: 'numeric', precision: 5, scale: 2, name: 'success_rate', nullable: true }) successRate!: string | null;
  @Column({ type: 'bigint', name: 'avg_relay_time_ms', nullable: true }) avgRelayTimeMs!: string | null;
  @Column({ type: 'bigint', name: 'p95_relay_time_ms', nullable: true }) p95RelayTimeMs!: string | null;
  @Column({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

@Entity({ name: 'channel_performance' })
export class ChannelPerformance {
  @PrimaryColumn({ type: 'text', name: 'chain_id' }) chainId!: string;
  @PrimaryColumn({ type: 'text', name: 'channel_id' }) channelId!: string;
  @PrimaryColumn({ type: 'timestamptz' }) hour!: Date;
  @Column({ type: 'text', name: 'counterparty_chain_id', nullable: true }) counterpartyChainId!: string | null;
  @Column({ type: 'text', name: 'counterparty_channel_id', nullable: true }) counterpartyChannelId!: string | null;
  @Column({ type: 'bigint', name: 'packets_sent' }) packetsSent!: string;
  @Column({ type: 'bigint', name: 'packets_received' }) packetsReceived!: string;
  @Column({ type: 'bigint', name: 'packets_acknowledged' }) packetsAcknowledged!: string;
  @Column({ type: 'bigint', name: 'packets_timed_out' }) packetsTimedOut!: string;
  @Column({ type: 'numeric', precision: 5, scale: 2, name: 'success_rate', nullable: true }) successRate!: string | null;
  @Column({ type: 'bigint', name: 'avg_clear_time_ms', nullable: true }) avgClearTimeMs!: string | null;
  @Column({ type: 'bigint', name: 'pending_backlog' }) pendingBacklog!: string;
  @Column({ type: 'bigint', name: 'stuck_count' }) stuckCount!: string;
  @Column({ type: 'smallint', name: 'congestion_score', nullable: true }) congestionScore!: number | null;
  @Column({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

@Entity({ name: 'relayer_performance' })
export class RelayerPerformance {
  @PrimaryColumn({ type: 'text', name: 'relayer_address' }) relayerAddress!: string;
  @PrimaryColumn({ type: 'text', name: 'chain_id' }) chainId!: string;
  @PrimaryColumn({ type: 'date' }) date!: string;
  @Column({ type: 'bigint', name: 'packets_relayed' }) packetsRelayed!: string;
  @Column({ type: 'bigint', name: 'packets_effected' }) packetsEffected!: string;
  @Column({ type: 'bigint', name: 'packets_frontrun' }) packetsFrontrun!: string;
  /** relayer address → packets it won that this relayer also submitted */
  @Column({ type: 'jsonb', name: 'frontrun_by' }) frontrunBy!: Record<string, number>;
  @Column({ type: 'bigint', name: 'avg_latency_ms', nullable: true }) avgLatencyMs!: string | null;
  @Column({ type: 'smallint', name: 'reputation_score', nullable: true }) reputationScore!: number | null;
  @Column({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}
