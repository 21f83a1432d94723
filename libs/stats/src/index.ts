export { contributionsOf, sumDeltas, type Contribution, type PacketEvent, type PacketFacts } from './aggregation';
export * from './formulas';
export { statsEnvShape, type StatsEnv } from './env';
export { DatabaseMaintenance, MATERIALIZED_VIEWS } from './maintenance';
export { PACKET_STATS_DURABLE, PacketStatsConsumer } from './packet-stats.consumer';
export { ClearingStatsConsumer, StatsLeader, StatsModule } from './stats.module';
export { factHash, StatsStore } from './stats-store';
export { StatsUpdatesPublisher } from './stats-updates';
export { StuckDetector } from './stuck-detector';
