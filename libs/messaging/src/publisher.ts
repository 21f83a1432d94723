import type { PubAck } from '@nats-io/jetstream';
import { msgIdFor, subjectFor, validateEvent, type EventMap, type EventName } from '@unstuck/contracts';
import { metric } from '@unstuck/observability';
import type { JetStreamConnection } from './connection';

export type OutgoingEvent = { [K in EventName]: { event: K; payload: EventMap[K] } }[EventName];

/** A payload that does not match its own contract: a bug in the publisher, never sent. */
export class InvalidEventError extends Error {
  constructor(
    readonly event: EventName,
    readonly errors: string[],
  ) {
    super(`refusing to publish an invalid ${event}: ${errors.join('; ')}`);
    this.name = 'InvalidEventError';
  }
}

const encoder = new TextEncoder();

/**
 * Publishes contract events with a deterministic Nats-Msg-Id, so a fact published twice (a retried batch, an
 * ingest that restarts from its last committed height) is stored once. Batches are sent concurrently and every
 * ack is awaited before the batch counts as published.
 */
export class EventPublisher {
  private readonly published = metric.counter({
    name: 'nats_published_total',
    help: 'events published, by event and whether JetStream had already stored that message id',
    labelNames: ['event', 'duplicate'],
  });

  constructor(
    private readonly connection: JetStreamConnection,
    private readonly concurrency: number,
  ) {}

  async publish<K extends EventName>(event: K, payload: EventMap[K]): Promise<PubAck> {
    const [ack] = await this.publishBatch([{ event, payload } as OutgoingEvent]);
    return ack!;
  }

  async publishBatch(events: readonly OutgoingEvent[]): Promise<PubAck[]> {
    const prepared = events.map(({ event, payload }) => {
      const checked = validateEvent(event, payload);
      if (!checked.ok) throw new InvalidEventError(event, checked.errors);
      return {
        event,
        subject: subjectFor(event, payload as never),
        msgID: msgIdFor(event, payload as never),
        data: encoder.encode(JSON.stringify(payload)),
      };
    });
    const { js } = await this.connection.get();
    const acks: PubAck[] = new Array(prepared.length);
    for (let start = 0; start < prepared.length; start += this.concurrency) {
      const chunk = prepared.slice(start, start + this.concurrency);
      const results = await Promise.all(chunk.map((m) => js.publish(m.subject, m.data, { msgID: m.msgID })));
      results.forEach((ack, i) => {
        acks[start + i] = ack;
        this.published.inc({ event: chunk[i]!.event, duplicate: String(ack.duplicate) });
      });
    }
    return acks;
  }
}
