import { Inject, Injectable } from '@nestjs/common';
import { JetStreamHandler, type Delivery } from '@unstuck/messaging';
import { EventRouter } from './event-router';
import { RealtimeServer } from './realtime.server';

export const NOTIFIER_DURABLE = 'notifier';

/**
 * NATS → rooms. One durable consumer shared by every notifier instance: whichever instance takes an event emits
 * it, and the socket.io adapter carries it to the room's sockets on every instance.
 */
@Injectable()
export class NotifierConsumer {
  constructor(
    @Inject(EventRouter) private readonly router: EventRouter,
    @Inject(RealtimeServer) private readonly realtime: RealtimeServer,
  ) {}

  // A durable consumer reads one stream: one per stream, all handled alike.
  @JetStreamHandler({
    durable: `${NOTIFIER_DURABLE}-packets`,
    events: ['packet.sent', 'packet.received', 'packet.acknowledged', 'packet.timed_out', 'packet.stuck', 'packet.unstuck', 'packet.near_timeout'],
    deliverPolicy: 'new',
    batch: { max: 1_000, maxWaitMs: 20 },
  })
  packets(deliveries: Delivery[]): Promise<void> {
    return this.handle(deliveries);
  }

  @JetStreamHandler({ durable: `${NOTIFIER_DURABLE}-stats`, events: ['stats.updated'], deliverPolicy: 'new', batch: { max: 1_000, maxWaitMs: 20 } })
  stats(deliveries: Delivery[]): Promise<void> {
    return this.handle(deliveries);
  }

  @JetStreamHandler({ durable: `${NOTIFIER_DURABLE}-clearing`, events: ['clearing.operation_updated'], deliverPolicy: 'new', batch: { max: 500, maxWaitMs: 10 } })
  clearing(deliveries: Delivery[]): Promise<void> {
    return this.handle(deliveries);
  }

  private async handle(deliveries: Delivery[]): Promise<void> {
    const rooms = await this.router.route(deliveries);
    deliveries.forEach((d, i) => {
      if (rooms[i]!.length === 0) return;
      this.realtime.publish(rooms[i]!, { seq: d.streamSequence, event: d.event, data: d.payload, published_at: new Date(d.publishedAt).toISOString() });
    });
    this.realtime.flushDue();
  }
}
