import { envVar, type EnvOf } from '@unstuck/config';

export const statsEnvShape = {
  /** A packet in flight longer than this (judged by the chains' own clocks, see docs/stats.md) is stuck. */
  STUCK_AFTER_SECONDS: envVar.int(900, 1, 30 * 86_400),
  /** How often the leader looks for stuck, unstuck and near-timeout packets and refreshes the gauges. */
  STATS_DETECT_INTERVAL_MS: envVar.int(5_000, 100, 3_600_000),
  /** Packets flagged per kind of check and tick; the rest follow on the next ticks. */
  STATS_DETECT_BATCH: envVar.int(5_000, 10, 100_000),
  /** A packet awaiting receipt is warned when its timestamp timeout is this close… */
  NEAR_TIMEOUT_WINDOW_SECONDS: envVar.int(300, 1, 86_400),
  /** …or its height timeout this many destination blocks away. */
  NEAR_TIMEOUT_BLOCKS: envVar.int(100, 1, 1_000_000),
  /** …and it has been waiting at least this long (wallets often set 10-minute timeouts: no warning at send). */
  NEAR_TIMEOUT_MIN_AGE_SECONDS: envVar.int(60, 0, 86_400),
  /** stats.updated is published at most once per interval per statistics row. */
  STATS_PUBLISH_INTERVAL_MS: envVar.int(1_000, 100, 60_000),
  STATS_MV_REFRESH_MS: envVar.int(60_000, 1_000, 86_400_000),
  STATS_PARTITION_CHECK_MS: envVar.int(3_600_000, 1_000, 86_400_000),
  /** packet_flow / packet_relays partitions older than this many days are dropped; 0 keeps everything. */
  PACKET_RETENTION_DAYS: envVar.int(90, 0, 36_500),
  /** Facts older than this are no longer deduplicated, so events older than this are not counted any more. */
  STATS_LEDGER_RETENTION_DAYS: envVar.int(35, 2, 36_500),
  STATS_DB_REPORT_MS: envVar.int(300_000, 1_000, 86_400_000),
  /** How long an event waits for ingest to commit its block before it is redelivered later. */
  STATS_COMMIT_WAIT_MS: envVar.int(30_000, 100, 600_000),
  /** How often a replica tries to become the leader that runs the scheduled jobs. */
  STATS_LEADER_CHECK_MS: envVar.int(2_000, 100, 60_000),
};
export type StatsEnv = EnvOf<typeof statsEnvShape>;
