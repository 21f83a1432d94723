import { loadEnv } from '@unstuck/config';
import { STREAMS, subjectFor, type PacketSentV1 } from '@unstuck/contracts';
import { packetSentFixture, uniqueSuffix, waitFor } from '@unstuck/testing';
import { JetStreamConnection } from './connection';
import { DurableConsumer, type Delivery } from './consumer';
import { DeadLetters, REPLAY_OF_HEADER } from './dead-letters';
import { natsEnvShape } from './env';
import { EventPublisher } from './publisher';

const env = loadEnv(natsEnvShape, {});
const pkt = (d: Delivery) => (d.payload as PacketSentV1).packet;

describe('dead letters: listing and replaying them (real nats-server)', () => {
  const connection = new JetStreamConnection(env, 'dead-letters-test');
  const publisher = new EventPublisher(connection, 16);
  const dlq = new DeadLetters(connection);
  const consumers: DurableConsumer[] = [];
  const durables: string[] = [];

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    const { jsm } = await connection.get();
    for (const d of durables) await jsm.consumers.delete(STREAMS.PACKETS.name, d).catch(() => undefined);
    await connection.close();
  });

  /** A consumer whose database is down until `up()`; then it records what it handles. */
  async function consumerWithOutage(chain: string) {
    const durable = `dlq-${uniqueSuffix()}`;
    durables.push(durable);
    let down = true;
    const handled: Delivery[] = [];
    const c = new DurableConsumer(
      connection,
      { durable, events: ['packet.sent'], deliverPolicy: 'new', nakBackoffMs: { initial: 20, max: 100 }, notReadyMaxDeliver: 2 },
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        if (mine.length === 0) return;
        if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED' });
        handled.push(...mine);
      },
      { maxDeliver: 2, ackWaitMs: 2_000 },
    );
    consumers.push(c);
    await c.start();
    return { durable, handled, up: () => (down = false) };
  }

  it("lists a consumer's dead letters with their reasons, and replays those a later try may not meet again", async () => {
    const chain = `replay-${uniqueSuffix()}`;
    const { durable, handled, up } = await consumerWithOutage(chain);
    await publisher.publish('packet.sent', packetSentFixture(chain, 1));
    // Not JSON: dead-lettered as invalid_json, which a replay would only dead-letter again.
    const { js } = await connection.get();
    await js.publish(subjectFor('packet.sent', packetSentFixture(chain, 2)), '{not json');

    const letters = await waitFor(async () => {
      const l = await dlq.list({ consumer: durable });
      return l.length === 2 ? l : undefined;
    }, 10_000, 200);
    expect(letters.map((l) => [l.consumer, l.reason]).sort()).toEqual([
      [durable, 'invalid_json'],
      [durable, 'unavailable'],
    ]);
    const unavailable = letters.find((l) => l.reason === 'unavailable')!;
    expect(unavailable).toMatchObject({ subject: subjectFor('packet.sent', packetSentFixture(chain, 1)), stream: STREAMS.PACKETS.name, deliveries: 2 });
    expect(unavailable.detail).toContain('ECONNREFUSED');
    expect(await dlq.list({ consumer: durable, reason: 'unavailable' })).toHaveLength(1);

    // A dry run changes nothing.
    const dry = await dlq.replay(durable, { dryRun: true });
    expect(dry.replayed.map((l) => l.seq)).toEqual([unavailable.seq]);
    expect(await dlq.list({ consumer: durable })).toHaveLength(2);

    up();
    const { replayed, left } = await dlq.replay(durable);
    expect(replayed.map((l) => l.seq)).toEqual([unavailable.seq]);
    expect(left.map((l) => l.reason)).toEqual(['invalid_json']);
    await waitFor(() => handled.length === 1, 10_000);
    expect(pkt(handled[0]!).sequence).toBe('1');
    expect(handled[0]!.msgId).toBe(`replay:${unavailable.seq}`);
    expect((await dlq.list({ consumer: durable })).map((l) => l.reason)).toEqual(['invalid_json']);

    // Replayed once: nothing is left to replay, and the consumer saw the event once.
    expect((await dlq.replay(durable)).replayed).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(handled).toHaveLength(1);
  });

  it('replays only the reasons it is asked to, and the replay names the dead letter it came from', async () => {
    const chain = `reasons-${uniqueSuffix()}`;
    const { durable } = await consumerWithOutage(chain);
    await publisher.publish('packet.sent', packetSentFixture(chain, 3));
    const [letter] = await waitFor(async () => {
      const l = await dlq.list({ consumer: durable });
      return l.length === 1 ? l : undefined;
    }, 10_000, 200);
    expect((await dlq.replay(durable, { reasons: ['not_ready'] })).replayed).toHaveLength(0);
    expect(await dlq.list({ consumer: durable })).toHaveLength(1);

    const { jsm } = await connection.get();
    const before = (await jsm.streams.info(STREAMS.PACKETS.name)).state.last_seq;
    expect((await dlq.replay(durable, { reasons: ['unavailable'] })).replayed).toHaveLength(1);
    const stored = await jsm.streams.getMessage(STREAMS.PACKETS.name, { last_by_subj: letter!.subject });
    expect(stored!.seq).toBeGreaterThan(before);
    expect(stored!.header.get(REPLAY_OF_HEADER)).toBe(String(letter!.seq));
  });
});
