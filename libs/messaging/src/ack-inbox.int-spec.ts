import { loadEnv } from '@unstuck/config';
import { msgIdFor, STREAMS, subjectFor } from '@unstuck/contracts';
import { packetSentFixture, uniqueSuffix } from '@unstuck/testing';
import { AckInbox, PublishError, type PendingPublish } from './ack-inbox';
import { JetStreamConnection } from './connection';
import { natsEnvShape } from './env';

const env = loadEnv(natsEnvShape, {});
const encoder = new TextEncoder();

describe('AckInbox: many JetStream acknowledgements in flight on one subscription (real nats-server)', () => {
  let connection: JetStreamConnection;
  let inbox: AckInbox;

  beforeAll(async () => {
    connection = new JetStreamConnection(env, 'ack-inbox-test');
    const { nc } = await connection.get();
    inbox = new AckInbox(nc, 1_000);
  });

  afterAll(async () => {
    inbox.close();
    await connection.close();
  });

  /** Valid packet.sent events of a chain of their own (other suites' consumers may read the stream). */
  const batch = (tag: string, n: number): PendingPublish[] =>
    Array.from({ length: n }, (_, i) => {
      const event = packetSentFixture(`ackinbox-${tag}`, i + 1);
      return { subject: subjectFor('packet.sent', event), msgID: msgIdFor('packet.sent', event), data: encoder.encode(JSON.stringify(event)) };
    });

  it('stores every message once, acknowledges them in order, and flags a batch sent again as duplicates', async () => {
    const tag = uniqueSuffix();
    const messages = batch(tag, 1_000);
    const acks = await inbox.publishAll(messages, 64);
    expect(acks).toHaveLength(1_000);
    expect(acks.every((a) => a.stream === STREAMS.PACKETS.name && !a.duplicate)).toBe(true);
    const seqs = acks.map((a) => a.seq);
    expect(new Set(seqs).size).toBe(1_000);
    // A window of 64 in flight on one connection: JetStream stores them in the order they were sent.
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    const again = await inbox.publishAll(messages, 64);
    expect(again.every((a) => a.duplicate)).toBe(true);
    expect(again.map((a) => a.seq)).toEqual(seqs);

    const { jsm } = await connection.get();
    const info = await jsm.streams.info(STREAMS.PACKETS.name, { subjects_filter: messages[0]!.subject });
    expect(info.state.subjects?.[messages[0]!.subject]).toBe(1_000);
  });

  it('rejects a message no stream takes, naming its subject', async () => {
    const subject = `nostream.${uniqueSuffix()}`;
    await expect(inbox.publishAll([{ subject, msgID: 'x', data: encoder.encode('{}') }], 8)).rejects.toThrow(
      new PublishError(`no JetStream stream takes subject ${subject}`, subject),
    );
  });

  it('fails a batch whose acknowledgement never comes, and publishes the next batch normally', async () => {
    // A plain subscriber takes the message and never answers, as a lost acknowledgement would look.
    const { nc } = await connection.get();
    const subject = `silent.${uniqueSuffix()}`;
    const silent = nc.subscribe(subject);
    try {
      const started = Date.now();
      await expect(inbox.publishAll([{ subject, msgID: 'y', data: encoder.encode('{}') }], 8)).rejects.toThrow(/no acknowledgement from JetStream within 1000 ms/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      silent.unsubscribe();
    }
    const acks = await inbox.publishAll(batch(uniqueSuffix(), 3), 8);
    expect(acks.map((a) => a.duplicate)).toEqual([false, false, false]);
  });

  it('resolves an empty batch at once', async () => {
    await expect(inbox.publishAll([], 8)).resolves.toEqual([]);
  });
});
