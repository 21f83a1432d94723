import { loadEnv } from '@unstuck/config';
import {
  DEAD_LETTER_HEADERS,
  STREAMS,
  deadLetterSubject,
  subjectFor,
  type PacketSentV1,
} from '@unstuck/contracts';
import { packetSentFixture, uniqueSuffix, waitFor } from '@unstuck/testing';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { JetStreamConnection } from './connection';
import { DurableConsumer, PoisonMessageError, type Delivery, type DeliveryHandler } from './consumer';
import { natsEnvShape } from './env';
import { EventPublisher, InvalidEventError } from './publisher';

const env = loadEnv(natsEnvShape, {});

const sentEvent = (chainId: string, sequence: number) => packetSentFixture(chainId, sequence);
/** These consumers take packet.sent only; narrows a delivery to its packet. */
const pkt = (d: Delivery) => (d.payload as PacketSentV1).packet;

describe('messaging on JetStream (real nats-server)', () => {
  let connection: JetStreamConnection;
  let publisher: EventPublisher;
  const consumers: DurableConsumer[] = [];
  const durables: string[] = [];

  beforeAll(async () => {
    connection = new JetStreamConnection(env, 'messaging-test');
    await connection.get();
    publisher = new EventPublisher(connection, 64);
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    const { jsm } = await connection.get();
    for (const d of durables) await jsm.consumers.delete(STREAMS.PACKETS.name, d).catch(() => undefined);
    await connection.close();
  });

  function consumer(handler: DeliveryHandler, extra: Partial<ConstructorParameters<typeof DurableConsumer>[1]> = {}) {
    const durable = `test-${uniqueSuffix()}`;
    durables.push(durable);
    const c = new DurableConsumer(
      connection,
      { durable, events: ['packet.sent'], deliverPolicy: 'new', nakBackoffMs: { initial: 50, max: 200 }, ...extra },
      handler,
      { maxDeliver: 3, ackWaitMs: 2_000 },
    );
    consumers.push(c);
    return { c, durable };
  }

  /** Collects dead letters for one durable. */
  async function deadLetters(durable: string): Promise<JsMsg[]> {
    const { js, jsm } = await connection.get();
    const name = `dlq-${durable}`;
    await jsm.consumers.add(STREAMS.DEAD_LETTER.name, {
      durable_name: name,
      filter_subject: deadLetterSubject(STREAMS.PACKETS.name, durable),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const c = await js.consumers.get(STREAMS.DEAD_LETTER.name, name);
    const out: JsMsg[] = [];
    const batch = await c.fetch({ max_messages: 10, expires: 1_000 });
    for await (const m of batch) {
      out.push(m);
      m.ack();
    }
    await jsm.consumers.delete(STREAMS.DEAD_LETTER.name, name);
    return out;
  }

  /** Waits until the durable has dead-lettered something; returns its dead letters. */
  const untilDeadLettered = (durable: string, timeoutMs: number) =>
    waitFor(async () => {
      const m = await deadLetters(durable);
      return m.length > 0 ? m : undefined;
    }, timeoutMs);

  it('stores a message published twice with the same Nats-Msg-Id once', async () => {
    const chain = `dedupe-${uniqueSuffix()}`;
    const event = sentEvent(chain, 1);
    const [first] = await publisher.publishBatch([{ event: 'packet.sent', payload: event }]);
    const again = await publisher.publish('packet.sent', structuredClone(event));
    expect(first!.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first!.seq);
    const { jsm } = await connection.get();
    const info = await jsm.streams.info(STREAMS.PACKETS.name, { subjects_filter: subjectFor('packet.sent', event) });
    expect(info.state.subjects?.[subjectFor('packet.sent', event)]).toBe(1);
  });

  it('refuses to publish a payload that breaks its own contract', async () => {
    const bad = { ...sentEvent('x', 1), msg_index: -1 };
    await expect(publisher.publish('packet.sent', bad)).rejects.toBeInstanceOf(InvalidEventError);
  });

  it('redelivers a message whose consumer died before acking', async () => {
    const chain = `kill-${uniqueSuffix()}`;
    const durable = `test-${uniqueSuffix()}`;
    durables.push(durable);
    // The first consumer runs on its own connection and never finishes its handler: then the connection dies,
    // as it would if the process were killed.
    const doomed = new JetStreamConnection(env, 'doomed');
    let sawFirst = false;
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((r) => (release = r));
    const first = new DurableConsumer(
      doomed,
      { durable, events: ['packet.sent'], deliverPolicy: 'new' },
      async (d) => {
        if (d.some((x) => pkt(x).src_chain_id === chain)) sawFirst = true;
        await stuck;
        throw new Error('the process died before it could ack');
      },
      { maxDeliver: 5, ackWaitMs: 1_500 },
    );
    await first.start();
    await publisher.publish('packet.sent', sentEvent(chain, 7));
    await waitFor(() => sawFirst, 5_000);
    (await doomed.get()).nc.close();

    const redelivered: Delivery[] = [];
    const second = new DurableConsumer(
      connection,
      { durable, events: ['packet.sent'] },
      async (d) => void redelivered.push(...d.filter((x) => pkt(x).src_chain_id === chain)),
      { maxDeliver: 5, ackWaitMs: 1_500 },
    );
    consumers.push(second);
    await second.start();
    await waitFor(() => redelivered.length > 0, 10_000);
    expect(pkt(redelivered[0]!).sequence).toBe('7');
    expect(redelivered[0]!.deliveryCount).toBeGreaterThanOrEqual(2);
    release();
    await first.stop();
  });

  it('dead-letters a schema-invalid message with its reason and never hands it to the handler', async () => {
    const chain = `invalid-${uniqueSuffix()}`;
    const handled: Delivery[] = [];
    const { c, durable } = consumer(async (d) => void handled.push(...d));
    await c.start();
    const { js } = await connection.get();
    const invalid = { ...sentEvent(chain, 3), tx_hash: 'not-a-hash' };
    await js.publish(subjectFor('packet.sent', sentEvent(chain, 3)), JSON.stringify(invalid));
    await js.publish(subjectFor('packet.sent', sentEvent(chain, 4)), JSON.stringify(sentEvent(chain, 4)));
    await waitFor(() => handled.some((d) => pkt(d).src_chain_id === chain), 5_000);

    const dead = await untilDeadLettered(durable, 5_000);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.reason)).toBe('schema_invalid');
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.detail)).toContain('/tx_hash');
    expect(JSON.parse(new TextDecoder().decode(dead[0]!.data)).tx_hash).toBe('not-a-hash');
    expect(handled.map((d) => pkt(d).sequence)).toEqual(['4']);
  });

  it('naks with backoff and dead-letters a message still failing at max_deliver', async () => {
    const chain = `failing-${uniqueSuffix()}`;
    const attempts: number[] = [];
    const { c, durable } = consumer(async (d) => {
      for (const x of d) if (pkt(x).src_chain_id === chain) attempts.push(x.deliveryCount);
      if (d.some((x) => pkt(x).src_chain_id === chain)) throw new Error('database is down');
    });
    await c.start();
    await publisher.publish('packet.sent', sentEvent(chain, 9));
    await waitFor(() => attempts.length >= 3, 10_000);
    const dead = await untilDeadLettered(durable, 5_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.reason)).toBe('max_deliver');
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.detail)).toBe('database is down');
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.deliveries)).toBe('3');
  });

  it('processes the rest of a batch when one message in it is poison', async () => {
    const chain = `batch-${uniqueSuffix()}`;
    const committed: string[] = [];
    const { c, durable } = consumer(
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        if (mine.some((x) => pkt(x).sequence === '13')) throw new PoisonMessageError('sequence 13 is cursed');
        committed.push(...mine.map((x) => pkt(x).sequence));
      },
      { batch: { max: 50, maxWaitMs: 100 } },
    );
    await c.start();
    await publisher.publishBatch([10, 11, 12, 13, 14, 15].map((s) => ({ event: 'packet.sent' as const, payload: sentEvent(chain, s) })));
    await waitFor(() => committed.length >= 5, 10_000);
    expect(committed.sort()).toEqual(['10', '11', '12', '14', '15']);
    const dead = await untilDeadLettered(durable, 5_000);
    expect(dead.map((m) => m.headers?.get(DEAD_LETTER_HEADERS.reason))).toEqual(['poison']);
  });

  it('settles a dead-lettered message for good: it is not delivered again once its ack wait has passed', async () => {
    // nats-server 2.9 (Debian's) does not know "+TERM <reason>" (2.10 does): such a term was ignored and the
    // message came back every ack wait, to be dead-lettered, logged and counted again, up to max_deliver times.
    const chain = `settled-${uniqueSuffix()}`;
    const poisonCalls: number[] = [];
    const { c, durable } = consumer(async (d) => {
      const mine = d.filter((x) => pkt(x).src_chain_id === chain);
      if (mine.some((x) => pkt(x).sequence === '2')) {
        poisonCalls.push(mine[0]!.deliveryCount);
        throw new PoisonMessageError('sequence 2 is cursed');
      }
    });
    await c.start();
    const { js, jsm } = await connection.get();
    await js.publish(subjectFor('packet.sent', sentEvent(chain, 1)), JSON.stringify({ ...sentEvent(chain, 1), tx_hash: 'not-a-hash' }));
    await publisher.publish('packet.sent', sentEvent(chain, 2));
    await waitFor(async () => ((await deadLetters(durable)).length === 2 ? true : undefined), 5_000);
    // Past the consumer's ack wait (2 s): an unsettled message would have been redelivered by now.
    await new Promise((r) => setTimeout(r, 3_000));
    const info = await jsm.consumers.info(STREAMS.PACKETS.name, durable);
    expect(poisonCalls).toEqual([1]);
    expect(info.num_redelivered).toBe(0);
    expect(info.num_ack_pending).toBe(0);
  });

  it.each([1, 2])('keeps at most %i handler calls in flight, started in delivery order, and acks every batch', async (concurrency) => {
    const chain = `conc-${uniqueSuffix()}`;
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const done: string[] = [];
    const { c, durable } = consumer(
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        if (mine.length === 0) return;
        started.push(d[0]!.streamSequence);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 150));
        inFlight -= 1;
        done.push(...mine.map((x) => pkt(x).sequence));
      },
      { batch: { max: 2, maxWaitMs: 20 }, concurrency },
    );
    await c.start();
    await publisher.publishBatch(Array.from({ length: 12 }, (_, i) => ({ event: 'packet.sent' as const, payload: sentEvent(chain, i + 1) })));
    await waitFor(() => done.length === 12, 10_000);
    expect(most).toBe(concurrency);
    expect(started).toEqual([...started].sort((x, y) => x - y));
    const { jsm } = await connection.get();
    await waitFor(async () => (await jsm.consumers.info(STREAMS.PACKETS.name, durable)).num_ack_pending === 0, 5_000);
    expect((await jsm.consumers.info(STREAMS.PACKETS.name, durable)).num_redelivered).toBe(0);
  });

  it('on stop, finishes and acks the batch in hand, so nothing it committed is delivered again', async () => {
    const chain = `drain-${uniqueSuffix()}`;
    const committed: string[] = [];
    let started = false;
    const { c, durable } = consumer(
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        if (mine.length === 0) return;
        started = true;
        await new Promise((r) => setTimeout(r, 500));
        committed.push(...mine.map((x) => pkt(x).sequence));
      },
      { batch: { max: 10, maxWaitMs: 50 } },
    );
    await c.start();
    await publisher.publishBatch([1, 2, 3].map((s) => ({ event: 'packet.sent' as const, payload: sentEvent(chain, s) })));
    await waitFor(() => started, 5_000);
    await c.stop();
    expect(committed.sort()).toEqual(['1', '2', '3']);

    const { jsm } = await connection.get();
    await waitFor(async () => (await jsm.consumers.info(STREAMS.PACKETS.name, durable)).num_ack_pending === 0, 5_000);
    const info = await jsm.consumers.info(STREAMS.PACKETS.name, durable);
    expect(info.num_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('gives a message handed back as not ready a budget of its own, then dead-letters it as not_ready', async () => {
    const chain = `notready-${uniqueSuffix()}`;
    const waited: number[] = [];
    // A failure's budget is 3 deliveries; waiting for a dependency may take 5.
    const { c, durable } = consumer(
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        waited.push(...mine.map((x) => x.deliveryCount));
        return { retryLater: mine, delayMs: 20 };
      },
      { notReadyMaxDeliver: 5 },
    );
    await c.start();
    await publisher.publish('packet.sent', sentEvent(chain, 21));
    const dead = await untilDeadLettered(durable, 10_000);
    expect(waited).toEqual([1, 2, 3, 4, 5]);
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.reason)).toBe('not_ready');
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.deliveries)).toBe('5');
    // Settled: past the ack wait (2 s) it has not come back.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(waited).toHaveLength(5);
    const { jsm } = await connection.get();
    expect((await jsm.consumers.info(STREAMS.PACKETS.name, durable)).num_ack_pending).toBe(0);
  });

  it('processes a message that became ready after more deliveries than a failure may take', async () => {
    const chain = `late-${uniqueSuffix()}`;
    const processed: number[] = [];
    const { c, durable } = consumer(
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        const notYet = mine.filter((x) => x.deliveryCount < 4);
        processed.push(...mine.filter((x) => x.deliveryCount >= 4).map((x) => x.deliveryCount));
        return { retryLater: notYet, delayMs: 20 };
      },
      { notReadyMaxDeliver: 6 },
    );
    await c.start();
    await publisher.publish('packet.sent', sentEvent(chain, 22));
    await waitFor(() => processed.length > 0, 10_000);
    expect(processed).toEqual([4]);
    const { jsm } = await connection.get();
    await waitFor(async () => (await jsm.consumers.info(STREAMS.PACKETS.name, durable)).num_ack_pending === 0, 5_000);
    expect(await deadLetters(durable)).toHaveLength(0);
  });

  it('dead-letters a message that reaches the last delivery unsettled (its handler died every time) without running the handler', async () => {
    const chain = `unsettled-${uniqueSuffix()}`;
    const handled: Delivery[] = [];
    const { c, durable } = consumer(async (d) => void handled.push(...d.filter((x) => pkt(x).src_chain_id === chain)));
    // Budgets of 3 (failure and not ready): the server's max_deliver is 5. Four deliveries that were never settled
    // (as when the process handling them dies) come from a bare pull consumer on the same durable, before ours starts.
    const { js, jsm } = await connection.get();
    await jsm.consumers.add(STREAMS.PACKETS.name, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: c.filterSubject,
      max_deliver: 5,
    });
    await publisher.publish('packet.sent', sentEvent(chain, 23));
    const raw = await js.consumers.get(STREAMS.PACKETS.name, durable);
    for (let i = 1; i <= 4; i++) {
      const m = await waitFor(async () => (await raw.next({ expires: 1_000 })) ?? undefined, 5_000);
      expect(m.info.deliveryCount).toBe(i);
      m.nak();
    }
    await c.start();
    const dead = await untilDeadLettered(durable, 10_000);
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.reason)).toBe('max_deliver');
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.deliveries)).toBe('5');
    expect(handled).toHaveLength(0);
  });
  it('lets a batch whose handler finds its database down wait on the waiting budget, whole, instead of dead-lettering it', async () => {
    const chain = `down-${uniqueSuffix()}`;
    const handed: string[] = [];
    const committed: string[] = [];
    let down = true;
    const latest = new Map<string, number>();
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED' });
    // A failure's budget is 3 deliveries: the database stays down until every message has been delivered 4 times.
    const { c, durable } = consumer(
      async (d) => {
        const mine = d.filter((x) => pkt(x).src_chain_id === chain);
        if (mine.length === 0) return;
        for (const x of mine) {
          handed.push(`${pkt(x).sequence}@${x.deliveryCount}`);
          latest.set(pkt(x).sequence, x.deliveryCount);
        }
        if (down && latest.size === 3 && [...latest.values()].every((n) => n >= 4)) down = false;
        if (down) throw refused();
        committed.push(...mine.map((x) => pkt(x).sequence));
      },
      { batch: { max: 10, maxWaitMs: 100 }, notReadyMaxDeliver: 8 },
    );
    await c.start();
    await publisher.publishBatch([1, 2, 3].map((s) => ({ event: 'packet.sent' as const, payload: sentEvent(chain, s) })));
    await waitFor(() => committed.length === 3, 20_000);
    expect(committed.sort()).toEqual(['1', '2', '3']);
    expect(Math.max(...latest.values())).toBeGreaterThanOrEqual(4);
    // Each delivery handed each message to the handler once: a failed batch was not retried message by message.
    expect(new Set(handed).size).toBe(handed.length);
    expect(await deadLetters(durable)).toHaveLength(0);
  });

  it('dead-letters as unavailable a message whose handler still finds its dependency down at the last delivery of the waiting budget', async () => {
    const chain = `gone-${uniqueSuffix()}`;
    const { c, durable } = consumer(
      async (d) => {
        if (d.some((x) => pkt(x).src_chain_id === chain)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
      { notReadyMaxDeliver: 4, nakBackoffMs: { initial: 20, max: 100 } },
    );
    await c.start();
    await publisher.publish('packet.sent', sentEvent(chain, 31));
    const dead = await untilDeadLettered(durable, 10_000);
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.reason)).toBe('unavailable');
    expect(dead[0]!.headers?.get(DEAD_LETTER_HEADERS.deliveries)).toBe('4');
  });
});
