import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  SetMetadata,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { ReadinessCheck } from '@unstuck/observability';
import { JetStreamConnection } from './connection';
import { DurableConsumer, type ConsumerOptions, type Delivery, type HandlerResult } from './consumer';
import type { NatsEnv } from './env';
import { EventPublisher } from './publisher';

const JETSTREAM_HANDLER = Symbol('JETSTREAM_HANDLER');
export const NATS_ENV = Symbol('NATS_ENV');

/**
 * Marks a provider method `(deliveries: Delivery[]) => Promise<HandlerResult>` as the handler of a durable consumer. It is
 * started once the whole application has booted and drained on shutdown before the connection closes.
 */
export const JetStreamHandler = (options: ConsumerOptions): MethodDecorator => SetMetadata(JETSTREAM_HANDLER, options);

@Injectable()
export class NatsReadiness implements ReadinessCheck {
  readonly name = 'nats';
  readonly critical = true;
  constructor(@Inject(JetStreamConnection) private readonly connection: JetStreamConnection) {}
  async check(): Promise<Record<string, unknown>> {
    return { rtt_ms: await this.connection.ping() };
  }
}

/** Finds @JetStreamHandler methods, runs their consumers, and stops them before the connection drains. */
@Injectable()
export class ConsumerHost implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('ConsumerHost');
  private readonly consumers: DurableConsumer[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(JetStreamConnection) private readonly connection: JetStreamConnection,
    @Inject(NATS_ENV) private readonly env: NatsEnv,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const fn = instance[method] as ((d: Delivery[]) => Promise<HandlerResult>) | undefined;
        if (typeof fn !== 'function') continue;
        const options = Reflect.getMetadata(JETSTREAM_HANDLER, fn) as ConsumerOptions | undefined;
        if (!options) continue;
        this.consumers.push(
          new DurableConsumer(this.connection, options, fn.bind(instance), {
            maxDeliver: this.env.NATS_MAX_DELIVER,
            notReadyMaxDeliver: this.env.NATS_NOT_READY_MAX_DELIVER,
            ackWaitMs: this.env.NATS_ACK_WAIT_MS,
          }),
        );
      }
    }
    // Started in the background: a NATS outage at boot delays consumption, it does not fail the boot.
    for (const c of this.consumers) {
      c.start().catch((e: unknown) => this.logger.error(`consumer failed to start: ${(e as Error).message}`));
    }
  }

  /** Drain: stop pulling and finish (and ack) the work in hand while the database is still open. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}

@Global()
@Module({})
export class MessagingModule {
  static forRoot(env: NatsEnv, service: string): DynamicModule {
    return {
      module: MessagingModule,
      imports: [DiscoveryModule],
      providers: [
        { provide: NATS_ENV, useValue: env },
        { provide: JetStreamConnection, useFactory: () => new JetStreamConnection(env, service) },
        {
          provide: EventPublisher,
          useFactory: (c: JetStreamConnection) => new EventPublisher(c, env.NATS_PUBLISH_CONCURRENCY),
          inject: [JetStreamConnection],
        },
        ConsumerHost,
        NatsReadiness,
      ],
      exports: [JetStreamConnection, EventPublisher, NatsReadiness, NATS_ENV],
    };
  }
}
