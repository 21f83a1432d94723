import { Logger } from '@nestjs/common';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { STREAMS } from '@unstuck/contracts';
import { retry } from '@unstuck/resilience';
import type { NatsEnv } from './env';

export interface JetStreamContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** The stream configuration declared in code; created or updated at every boot. */
export function streamConfigs(env: NatsEnv): Array<Partial<StreamConfig> & { name: string; subjects: string[] }> {
  return Object.values(STREAMS).map((s) => ({
    name: s.name,
    subjects: [...s.subjects],
    description: s.description,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: env.NATS_STREAM_REPLICAS,
    duplicate_window: nanos(env.NATS_DUPLICATE_WINDOW_MS),
    max_age: nanos(env.NATS_STREAM_MAX_AGE_HOURS * 3_600_000),
  }));
}

/**
 * One NATS connection per process. Connecting does not block boot: a service whose NATS is down starts, reports
 * not-ready, and connects (then declares its streams) as soon as NATS answers.
 */
export class JetStreamConnection {
  private readonly logger = new Logger('JetStream');
  private ctx: JetStreamContext | undefined;
  private readonly ready: Promise<JetStreamContext>;
  private closed = false;

  constructor(
    private readonly env: NatsEnv,
    private readonly name: string,
  ) {
    this.ready = this.open();
    this.ready.catch(() => undefined);
  }

  /** Resolves once connected and the streams exist. */
  get(): Promise<JetStreamContext> {
    return this.ready;
  }

  current(): JetStreamContext | undefined {
    return this.ctx;
  }

  private async open(): Promise<JetStreamContext> {
    const nc = await connect({
      servers: this.env.NATS_URL,
      name: this.name,
      waitOnFirstConnect: true,
      // No stack-capturing error object per request: building errors that are almost never thrown took ~9 % of
      // packet-ingest's CPU, publishing to JetStream (profiled on bench:ingest).
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') this.logger.warn(`nats ${s.type}`);
      }
    })();
    const jsm = await jetstreamManager(nc);
    await retry(() => this.ensureStreams(jsm), { attempts: 10, initialDelayMs: 200, maxDelayMs: 5_000, isRetryable: () => !this.closed });
    this.ctx = { nc, js: jetstream(nc), jsm };
    return this.ctx;
  }

  private async ensureStreams(jsm: JetStreamManager): Promise<void> {
    for (const config of streamConfigs(this.env)) {
      try {
        await jsm.streams.info(config.name);
        const { name, storage: _storage, ...mutable } = config;
        await jsm.streams.update(name, mutable);
      } catch (e) {
        if (!/stream not found/i.test(String((e as Error).message))) throw e;
        await jsm.streams.add(config);
      }
    }
  }

  async ping(): Promise<number> {
    const ctx = this.ctx;
    if (!ctx) throw new Error('not connected to NATS yet');
    if (ctx.nc.isClosed()) throw new Error('NATS connection closed');
    return ctx.nc.rtt();
  }

  /** Drains: pending publishes are flushed and subscriptions closed before the connection ends. */
  async close(): Promise<void> {
    this.closed = true;
    const ctx = this.ctx;
    if (ctx && !ctx.nc.isClosed()) await ctx.nc.drain();
  }
}
