import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { loadEnv } from '@unstuck/config';
import { STREAMS } from '@unstuck/contracts';
import { packetSentFixture, uniqueSuffix, waitFor } from '@unstuck/testing';
import { JetStreamConnection } from './connection';
import type { Delivery } from './consumer';
import { natsEnvShape } from './env';
import { JetStreamHandler, MessagingModule } from './messaging.module';
import { EventPublisher } from './publisher';

const durable = `nest-handler-${uniqueSuffix()}`;
const chain = `nest-${uniqueSuffix()}`;
const received: string[] = [];

@Injectable()
class SendCounter {
  @JetStreamHandler({ durable, events: ['packet.sent'], deliverPolicy: 'new', batch: { max: 10, maxWaitMs: 20 } })
  async onSent(deliveries: Delivery[]): Promise<void> {
    for (const d of deliveries) {
      if (d.event === 'packet.sent' && d.payload.packet.src_chain_id === chain) received.push(d.payload.packet.sequence);
    }
  }
}

describe('MessagingModule in a Nest application', () => {
  it('starts a durable consumer for every @JetStreamHandler method and drains it on close', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MessagingModule.forRoot(loadEnv(natsEnvShape, {}), 'nest-test')],
      providers: [SendCounter],
    }).compile();
    // An application context runs the same lifecycle hooks (bootstrap, destroy, shutdown) without an HTTP server.
    const app = await moduleRef.init();
    const connection = app.get(JetStreamConnection);
    const { jsm } = await connection.get();
    try {
      await waitFor(async () => (await jsm.consumers.info(STREAMS.PACKETS.name, durable).catch(() => undefined)) !== undefined, 10_000);
      const event = (sequence: number) => packetSentFixture(chain, sequence);
      await app.get(EventPublisher).publishBatch([1, 2, 3].map((s) => ({ event: 'packet.sent' as const, payload: event(s) })));
      await waitFor(() => received.length === 3, 10_000);
      expect(received.sort()).toEqual(['1', '2', '3']);
    } finally {
      await app.close();
    }
    expect(connection.current()?.nc.isClosed()).toBe(true);
    const cleanup = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'cleanup');
    await (await cleanup.get()).jsm.consumers.delete(STREAMS.PACKETS.name, durable);
    await cleanup.close();
  });
});
