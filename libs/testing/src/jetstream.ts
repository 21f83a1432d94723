import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';

/**
 * Recreates a service's durable consumer so that it starts at the next message: the stream also holds earlier
 * runs' and other tests' messages, which a test comparing counts must not see. The service updates the rest of the
 * consumer's settings when it starts.
 */
export async function consumeFromNow(jsm: JetStreamManager, stream: string, durable: string, filterSubject: string): Promise<void> {
  await jsm.consumers.delete(stream, durable).catch(() => undefined);
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subject: filterSubject,
    ack_wait: nanos(30_000),
  });
}
