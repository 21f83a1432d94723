import { Inject, Injectable } from '@nestjs/common';
import { encodeSubjectToken, eventForSubject, STREAMS, SUBJECT_ROOT, subjectFilter } from '@unstuck/contracts';
import { JetStreamConnection } from '@unstuck/messaging';
import { EventRouter } from './event-router';
import { NOTIFIER_ENV } from './tokens';
import type { AppEnv } from './env';
import type { OutgoingMessage } from './realtime.server';
import type { Topic } from './topics';

export interface Replay {
  messages: OutgoingMessage[];
  /** True when nothing newer is left for the topic; otherwise ask again with `since` = the last seq returned. */
  complete: boolean;
  /** The stream's last sequence when `since` was at or past it: nothing came after, and the answer says so. */
  stream_last_seq?: number;
  notice?: string;
}

/**
 * A topic's events after a stream sequence, read back from JetStream with an ephemeral ordered consumer narrowed
 * to the topic's subjects; JetStream keeps them as long as its retention does, so an update missed during a long
 * disconnect is never lost.
 */
@Injectable()
export class MissedUpdates {
  constructor(
    @Inject(JetStreamConnection) private readonly nats: JetStreamConnection,
    @Inject(EventRouter) private readonly router: EventRouter,
    @Inject(NOTIFIER_ENV) private readonly env: AppEnv,
  ) {}

  async since(topic: Topic, since: number, wallet?: string): Promise<Replay> {
    const { stream, filter } = sourceOf(topic, wallet);
    const { js, jsm } = await this.nats.get();
    // At or past the stream's end there is nothing to read (a consumer asked to start beyond it would start at the
    // end and hand back whatever comes, or, on some servers, old events): answered from the stream's state.
    const last = (await jsm.streams.info(stream)).state.last_seq;
    if (since >= last) {
      return {
        messages: [],
        complete: true,
        stream_last_seq: last,
        notice: since > last ? `since (${since}) is beyond the last event sent (seq ${last}): nothing to replay; ask with the last seq you received` : 'nothing newer',
      };
    }
    const consumer = await js.consumers.get(stream, { filter_subjects: filter, opt_start_seq: since + 1 });
    const messages: OutgoingMessage[] = [];
    let scanned = 0;
    let complete = false;
    try {
      while (scanned < this.env.NOTIFIER_REPLAY_SCAN && messages.length < this.env.NOTIFIER_REPLAY_MAX) {
        const batch = [];
        for await (const m of await consumer.fetch({ max_messages: 500, expires: 1_000 })) {
          batch.push(m);
          if (m.info.pending === 0) break;
        }
        scanned += batch.length;
        const events = batch.flatMap((m) => {
          const event = eventForSubject(m.subject);
          return event ? [{ event, payload: m.json<unknown>(), seq: m.seq, published_at: new Date(m.info.timestampNanos / 1_000_000).toISOString() }] : [];
        });
        const rooms = await this.router.route(events);
        events.forEach((e, i) => {
          if (rooms[i]!.includes(topic.room) && messages.length < this.env.NOTIFIER_REPLAY_MAX) {
            messages.push({ seq: e.seq, event: e.event, data: e.payload, published_at: e.published_at });
          }
        });
        if (batch.length === 0 || batch[batch.length - 1]!.info.pending === 0) {
          complete = messages.length < this.env.NOTIFIER_REPLAY_MAX;
          break;
        }
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return { messages, complete };
  }
}

/** The stream and subject filter holding a topic's events (one filter: nats-server 2.9 takes no filter lists). */
function sourceOf(topic: Topic, wallet?: string): { stream: string; filter: string } {
  switch (topic.kind) {
    case 'packets':
    case 'wallet':
      return { stream: STREAMS.PACKETS.name, filter: `${SUBJECT_ROOT}.packet.>` };
    case 'channel':
      return { stream: STREAMS.PACKETS.name, filter: `${SUBJECT_ROOT}.packet.*.v1.${encodeSubjectToken(topic.chainId)}.${encodeSubjectToken(topic.channel)}` };
    case 'platform':
      return { stream: STREAMS.STATS.name, filter: `${SUBJECT_ROOT}.stats.updated.v1.platform` };
    case 'clearing':
      return { stream: STREAMS.CLEARING.name, filter: wallet ? subjectFilter('clearing.operation_updated', wallet).replace(/\.>$/, '') : `${SUBJECT_ROOT}.clearing.>` };
  }
}
