import type { PubAck } from '@nats-io/jetstream';
import { msgIdFor, subjectFor, validateEvent, type EventMap, type EventName } from '@unstuck/contracts';
import { metric } from '@unstuck/observability';
import { AckInbox } from './ack-inbox';
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

/** How long a batch waits without any acknowledgement before it fails (and its caller sends it again). */
const ACK_TIMEOUT_MS = 10_000;

/**
 * Publishes contract events with a deterministic Nats-Msg-Id, so a fact published twice (a retried batch, an
 * ingest that restarts from its last committed height) is stored once. Up to `concurrency` messages of a batch are
 * unacknowledged at a time, and every ack is awaited before the batch counts as published.
 */
export class EventPublisher {
  private readonly published = metric.counter({
    name: 'nats_published_total',
    help: 'events published, by event and whether JetStream had already stored that message id',
    labelNames: ['event', 'duplicate'],
  });

  private inbox: Promise<AckInbox> | undefined;

  constructor(
    private readonly connection: JetStreamConnection,
    private readonly concurrency: number,
  ) {}

  async publish<K extends EventName>(event: K, payload: EventMap[K]): Promise<PubAck> {
    const [ack] = await this.publishBatch([{ event, payload } as OutgoingEvent]);
    return ack!;
  }

  /**
   * `options.checked`: the caller has just validated every payload against its contract (the ingest parser does,
   * to dead-letter a violation instead of failing the batch), so it is not checked a second time.
   */
  async publishBatch(events: readonly OutgoingEvent[], options: { checked?: boolean } = {}): Promise<PubAck[]> {
    const prepared = events.map(({ event, payload }) => {
      if (!options.checked) {
        const checked = validateEvent(event, payload);
        if (!checked.ok) throw new InvalidEventError(event, checked.errors);
      }
      return {
        event,
        subject: subjectFor(event, payload as never),
        msgID: msgIdFor(event, payload as never),
        data: encoder.encode(JSON.stringify(payload)),
      };
    });
    this.inbox ??= this.connection.get().then(({ nc }) => new AckInbox(nc, ACK_TIMEOUT_MS));
    const acks = await (await this.inbox).publishAll(prepared, this.concurrency);
    const counts = new Map<string, number>();
    acks.forEach((ack, i) => {
      const key = `${prepared[i]!.event}|${ack.duplicate}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
    for (const [key, n] of counts) {
      const [event, duplicate] = key.split('|');
      this.published.inc({ event, duplicate }, n);
    }
    return acks;
  }
}
