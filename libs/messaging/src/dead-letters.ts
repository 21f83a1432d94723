import { headers as natsHeaders } from '@nats-io/nats-core';
import type { JsMsg } from '@nats-io/jetstream';
import { DEAD_LETTER_HEADERS, STREAMS, SUBJECT_ROOT, encodeSubjectToken } from '@unstuck/contracts';
import type { JetStreamContext } from './connection';

/** Where the dead letters are: a service's JetStreamConnection, or a bare connection of a tool's (which must not declare streams). */
export interface JetStreamSource {
  get(): Promise<Pick<JetStreamContext, 'js' | 'jsm'>>;
}

/** One message a consumer gave up on, as its dead letter tells. */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream: what names it to `replay`. */
  seq: number;
  consumer: string;
  reason: string;
  detail: string;
  /** Where it was first published, and where a replay publishes it again. */
  subject: string;
  stream: string;
  streamSequence: number;
  deliveries: number;
  deadAt: Date;
  data: Uint8Array;
}

/**
 * Reasons a message was given up on that a later try may not meet again: a dependency that was down, ingest not
 * caught up, a failure that a fix may have removed. A message that is not JSON, breaks its schema, has no event
 * behind its subject, or was declared poison by its handler would only be dead-lettered again.
 */
export const REPLAYABLE_REASONS: readonly string[] = ['unavailable', 'not_ready', 'max_deliver'];

/** Header a replayed message carries: the dead letter's sequence it came from. */
export const REPLAY_OF_HEADER = 'Unstuck-Replay-Of';

/**
 * The dead-letter stream, for operators: what is in it, and publishing its messages again once what made them fail
 * is over. A replay goes to the message's original subject, so every consumer of that subject sees it again (their
 * handlers are idempotent: a packet event a consumer has already counted changes nothing), with the message id
 * `replay:<seq>` (replaying one dead letter twice within the duplicate window stores it once); the dead letter is
 * deleted once JetStream has stored its replay.
 */
export class DeadLetters {
  constructor(private readonly connection: JetStreamSource) {}

  /** Dead letters in the order they died, of one consumer (durable name) or of all. */
  async list(filter: { consumer?: string; reason?: string } = {}): Promise<DeadLetter[]> {
    const { js, jsm } = await this.connection.get();
    const stream = STREAMS.DEAD_LETTER.name;
    const subject = filter.consumer === undefined ? `${SUBJECT_ROOT}.dlq.>` : `${SUBJECT_ROOT}.dlq.v1.*.${encodeSubjectToken(filter.consumer)}`;
    const out: DeadLetter[] = [];
    // No reader is made for an empty listing.
    const info = await jsm.streams.info(stream, { subjects_filter: subject });
    if (Object.keys(info.state.subjects ?? {}).length === 0) return out;
    const reader = await js.consumers.get(stream, { filter_subjects: subject });
    try {
      // Until the last message read says none is left after it (or a fetch brings nothing).
      for (let more = true; more; ) {
        more = false;
        for await (const m of await reader.fetch({ max_messages: 500, expires: 2_000 })) {
          const letter = toDeadLetter(m);
          if (filter.reason === undefined || letter.reason === filter.reason) out.push(letter);
          more = m.info.pending > 0;
        }
      }
    } finally {
      await reader.delete().catch(() => undefined);
    }
    return out;
  }

  /**
   * Publishes one consumer's dead letters again (those whose reason is in `reasons`, by default the replayable
   * ones) and deletes each once its replay is stored; the rest are left where they are. `dryRun` only tells.
   */
  async replay(
    consumer: string,
    options: { reasons?: readonly string[]; dryRun?: boolean } = {},
  ): Promise<{ replayed: DeadLetter[]; left: DeadLetter[] }> {
    const reasons = options.reasons ?? REPLAYABLE_REASONS;
    const letters = await this.list({ consumer });
    const replayed: DeadLetter[] = [];
    const left: DeadLetter[] = [];
    const { js, jsm } = await this.connection.get();
    for (const letter of letters) {
      if (!reasons.includes(letter.reason)) {
        left.push(letter);
        continue;
      }
      if (!options.dryRun) {
        const h = natsHeaders();
        h.set(REPLAY_OF_HEADER, String(letter.seq));
        await js.publish(letter.subject, letter.data, { headers: h, msgID: `replay:${letter.seq}` });
        await jsm.streams.deleteMessage(STREAMS.DEAD_LETTER.name, letter.seq);
      }
      replayed.push(letter);
    }
    return { replayed, left };
  }
}

function toDeadLetter(m: JsMsg): DeadLetter {
  const h = (name: string) => m.headers?.get(name) ?? '';
  return {
    seq: m.info.streamSequence,
    consumer: h(DEAD_LETTER_HEADERS.consumer),
    reason: h(DEAD_LETTER_HEADERS.reason),
    detail: h(DEAD_LETTER_HEADERS.detail),
    subject: h(DEAD_LETTER_HEADERS.originalSubject),
    stream: h(DEAD_LETTER_HEADERS.stream),
    streamSequence: Number(h(DEAD_LETTER_HEADERS.streamSequence)),
    deliveries: Number(h(DEAD_LETTER_HEADERS.deliveries)),
    deadAt: new Date(Math.floor(m.info.timestampNanos / 1e6)),
    data: m.data,
  };
}
