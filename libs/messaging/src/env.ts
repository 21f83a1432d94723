import { envVar, type EnvOf } from '@unstuck/config';

export const natsEnvShape = {
  NATS_URL: envVar.url('nats://127.0.0.1:54222', ['nats', 'tls']),
  /** JetStream rejects a repeated Nats-Msg-Id within this window; it must outlast an ingest restart + catch-up. */
  NATS_DUPLICATE_WINDOW_MS: envVar.int(15 * 60_000, 1_000),
  NATS_STREAM_MAX_AGE_HOURS: envVar.int(7 * 24, 1),
  NATS_STREAM_REPLICAS: envVar.int(1, 1, 5),
  /** Deliveries before a failing message is dead-lettered. */
  NATS_MAX_DELIVER: envVar.int(5, 1, 100),
  /**
   * Deliveries a message may wait — handed back as not ready (ingest has not committed the block it names), or its
   * handler's dependency down (the database restarting) — before it is dead-lettered; its redelivery delay doubles
   * up to a minute, so the default waits out about an hour.
   */
  NATS_NOT_READY_MAX_DELIVER: envVar.int(60, 1, 10_000),
  NATS_ACK_WAIT_MS: envVar.int(30_000, 1_000),
  NATS_PUBLISH_CONCURRENCY: envVar.int(512, 1, 10_000),
};

export type NatsEnv = EnvOf<typeof natsEnvShape>;
