import { authEnvShape } from '@unstuck/auth';
import { envVar, type EnvOf } from '@unstuck/config';
import { browserFacingEnvShape, platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  ...authEnvShape,
  NOTIFIER_PORT: envVar.port(3004),
  ...browserFacingEnvShape,
  /** Open connections from one client address, across every notifier instance. */
  NOTIFIER_MAX_CONNECTIONS_PER_IP: envVar.int(20, 1),
  /** An instance's per-address counts live this long without its heartbeat (renewed every third): a dead instance's are freed within it. */
  NOTIFIER_CONNECTION_TTL_MS: envVar.int(30_000, 300, 600_000),
  /** `replay` requests per socket per minute (one in flight at a time). */
  NOTIFIER_REPLAYS_PER_MINUTE: envVar.int(30, 1, 10_000),
  NOTIFIER_MAX_TOPICS_PER_SOCKET: envVar.int(50, 1, 1000),
  /** A client with more messages, or more bytes, waiting to be written is disconnected ("send buffer full"). */
  NOTIFIER_MAX_BUFFERED_MESSAGES: envVar.int(1000, 1),
  NOTIFIER_MAX_BUFFERED_BYTES: envVar.int(4 * 1024 * 1024, 1024),
  NOTIFIER_BUFFER_CHECK_MS: envVar.int(250, 10),
  /** Events for one room are coalesced into one batch this often. */
  NOTIFIER_BATCH_MS: envVar.int(100, 5, 5000),
  /** A client that reconnects within this window gets what it missed automatically (connection state recovery). */
  NOTIFIER_RECOVERY_WINDOW_MS: envVar.int(120_000, 1000),
  NOTIFIER_PING_INTERVAL_MS: envVar.int(25_000, 1000),
  NOTIFIER_PING_TIMEOUT_MS: envVar.int(20_000, 1000),
  /** `replay` answers at most this many events, scanning at most NOTIFIER_REPLAY_SCAN stream messages. */
  NOTIFIER_REPLAY_MAX: envVar.int(500, 1, 10_000),
  NOTIFIER_REPLAY_SCAN: envVar.int(20_000, 100, 1_000_000),
};

export type AppEnv = EnvOf<typeof envShape>;
