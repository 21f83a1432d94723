import { createInbox, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import type { PubAck } from '@nats-io/jetstream';

/** One message for JetStream: where it goes, its deduplication id and its bytes. */
export interface PendingPublish {
  subject: string;
  msgID: string;
  data: Uint8Array;
}

/** JetStream refused a message, or no stream listens on its subject, or its acknowledgement never came. */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly subject: string,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

interface Waiter {
  subject: string;
  resolve: (ack: PubAck) => void;
  reject: (e: Error) => void;
}

const decoder = new TextDecoder();

/**
 * Publishes to JetStream with many acknowledgements in flight on one reply subscription: what nats.js's
 * `js.publish` does per message (an inbox request with its own timer, and an error object built for every
 * finished request) done once per connection. Each message carries its Nats-Msg-Id, so a message sent again
 * after a timeout or a reconnect is stored once; JetStream's answer says whether it was a duplicate.
 *
 * Acknowledgements that never come (a reconnect loses them) fail the batch after `timeoutMs` without progress;
 * the caller publishes the batch again.
 */
export class AckInbox {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<number, Waiter>();
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.prefix = createInbox();
    this.sub = nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => (err ? this.failAll(err) : this.settle(msg)) });
  }

  /**
   * Publishes every message, at most `window` unacknowledged at a time, and resolves with their acknowledgements in
   * order once all have come. Rejects on the first refusal, or when a `timeoutMs` period passes without any
   * acknowledgement.
   */
  async publishAll(messages: readonly PendingPublish[], window: number): Promise<PubAck[]> {
    const acks: PubAck[] = new Array(messages.length);
    if (messages.length === 0) return acks;
    return new Promise((resolve, reject) => {
      let sent = 0;
      let done = 0;
      let failed = false;
      const mine: number[] = [];
      // One timer for the batch: when it fires, the batch fails unless an acknowledgement came since the last time.
      let timer: NodeJS.Timeout | undefined;
      let doneAtCheck = -1;
      const armTimer = () => {
        timer = setTimeout(() => {
          if (done === doneAtCheck) fail(new PublishError(`no acknowledgement from JetStream within ${this.timeoutMs} ms`, messages[done]!.subject));
          else armTimer();
        }, this.timeoutMs);
        doneAtCheck = done;
      };
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        clearTimeout(timer);
        for (const token of mine) this.waiting.delete(token);
        reject(e);
      };
      const sendMore = () => {
        while (!failed && sent < messages.length && sent - done < window) {
          const index = sent++;
          const m = messages[index]!;
          const token = ++this.next;
          mine.push(token);
          this.waiting.set(token, {
            subject: m.subject,
            resolve: (ack) => {
              acks[index] = ack;
              done += 1;
              if (done === messages.length) {
                clearTimeout(timer);
                resolve(acks);
              } else {
                // Refilled half a window at a time: the messages go out in one socket write, not one write per ack.
                if (sent - done <= window / 2) sendMore();
              }
            },
            reject: fail,
          });
          const h = natsHeaders();
          h.set('Nats-Msg-Id', m.msgID);
          try {
            this.nc.publish(m.subject, m.data, { reply: `${this.prefix}.${token}`, headers: h });
          } catch (e) {
            fail(e as Error);
          }
        }
      };
      armTimer();
      sendMore();
    });
  }

  close(): void {
    this.sub.unsubscribe();
    this.failAll(new Error('publisher closed'));
  }

  private settle(msg: Msg): void {
    const token = Number(msg.subject.slice(this.prefix.length + 1));
    const waiter = this.waiting.get(token);
    if (!waiter) return; // a late answer for a batch that already failed
    this.waiting.delete(token);
    if (msg.headers?.hasError) {
      const code = msg.headers.code;
      waiter.reject(
        new PublishError(
          code === 503 ? `no JetStream stream takes subject ${waiter.subject}` : `JetStream refused ${waiter.subject}: ${code} ${msg.headers.description}`,
          waiter.subject,
        ),
      );
      return;
    }
    let answer: { stream?: string; seq?: number; duplicate?: boolean; domain?: string; error?: { code: number; description: string } };
    try {
      answer = JSON.parse(decoder.decode(msg.data)) as typeof answer;
    } catch {
      waiter.reject(new PublishError(`unreadable acknowledgement for ${waiter.subject}`, waiter.subject));
      return;
    }
    if (answer.error || answer.stream === undefined || answer.seq === undefined) {
      waiter.reject(new PublishError(`JetStream refused ${waiter.subject}: ${answer.error?.description ?? 'no stream in the answer'}`, waiter.subject));
      return;
    }
    waiter.resolve({ stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true, domain: answer.domain } as PubAck);
  }

  private failAll(e: Error): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.reject(e);
  }
}
