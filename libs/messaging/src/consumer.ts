import { Logger } from '@nestjs/common';
import { headers as natsHeaders, nanos } from '@nats-io/nats-core';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  DEAD_LETTER_HEADERS,
  STREAMS,
  deadLetterSubject,
  eventForSubject,
  streamFor,
  subjectFilter,
  validateEvent,
  type EventMap,
  type EventName,
} from '@unstuck/contracts';
import { metric } from '@unstuck/observability';
import { isConnectionError } from '@unstuck/db';
import { BreakerOpenError, backoffDelay, isTransientError } from '@unstuck/resilience';
import type { JetStreamConnection } from './connection';

export interface ConsumerOptions {
  /** Durable consumer name: instances with the same name share the work. */
  durable: string;
  /** Events this handler consumes; all must live in the same stream. */
  events: readonly EventName[];
  /** Up to `max` messages per handler call, waiting at most `maxWaitMs` to fill a batch. Default: one at a time. */
  batch?: { max: number; maxWaitMs: number };
  /**
   * Handler calls in flight at once (default 1: one at a time, in delivery order). More only for handlers whose
   * calls may overlap as two instances' would: the database round trips of one batch then run beside another's.
   */
  concurrency?: number;
  /** Deliveries before a still-failing message is dead-lettered (default NATS_MAX_DELIVER). */
  maxDeliver?: number;
  /**
   * Deliveries a message may wait — handed back as not ready, or its handler's dependency down — before it is
   * dead-lettered (default NATS_NOT_READY_MAX_DELIVER).
   */
  notReadyMaxDeliver?: number;
  ackWaitMs?: number;
  /** Redelivery delay after a failure grows from this (ms). */
  nakBackoffMs?: { initial: number; max: number };
  deliverPolicy?: 'all' | 'new';
}

export type Delivery = {
  [K in EventName]: {
    event: K;
    payload: EventMap[K];
    subject: string;
    deliveryCount: number;
    streamSequence: number;
    msgId: string | undefined;
    /** When JetStream stored the message (ms since the epoch). */
    publishedAt: number;
  };
}[EventName];

/**
 * A handler acks its whole batch by resolving. It may instead name deliveries it cannot process yet (a dependency
 * has not caught up): `retryLater` is redelivered after `delayMs`, doubling with each delivery (with jitter, at most
 * a minute), and the rest of the batch is acked. Waiting has its own budget of deliveries (`notReadyMaxDeliver`,
 * far more than a failure's): a message still handed back at its last one is dead-lettered as `not_ready`, never
 * left for the server to drop silently.
 */
export type HandlerResult = void | { retryLater: readonly Delivery[]; delayMs: number };
export type DeliveryHandler = (deliveries: Delivery[]) => Promise<HandlerResult>;

/** Thrown by a handler for a message that can never succeed: it is dead-lettered at once instead of retried. */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

type Pending = { msg: JsMsg; delivery: Delivery };
const decoder = new TextDecoder();
/** The longest a message that waits (not ready, or its handler's dependency down) waits for its next delivery. */
const RETRY_LATER_MAX_MS = 60_000;

/**
 * The handler failed because something it needs could not be reached (the database restarting, a server it calls
 * refusing connections), not because of the message: such a failure spends the waiting budget, not the failure one.
 */
function isDependencyDown(err: unknown): boolean {
  return err instanceof BreakerOpenError || isConnectionError(err) || isTransientError(err);
}

/**
 * A durable pull consumer. A message is acked only after its handler resolved, that is after the handler's work
 * has committed; a failed handler call naks with growing backoff; a message that is not JSON, does not match its
 * event's schema, still fails at maxDeliver, is still handed back as not ready (or still finds its handler's
 * dependency down) at notReadyMaxDeliver, or keeps coming back unsettled (its handler's process died every time)
 * goes to the dead-letter subject with the reason in its headers and is terminated. When a batch fails, its messages
 * are retried one by one so that one poison message cannot keep its neighbours from being processed; when it failed
 * because a dependency is down (the database restarting), the whole batch waits instead, on the waiting budget: an
 * outage must not turn events into dead letters.
 *
 * JetStream counts every delivery alike, so a message that waited and then fails for another reason is
 * dead-lettered at its first failure once its count has passed maxDeliver.
 */
export class DurableConsumer {
  private readonly logger: Logger;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Resolves when the next batch may start: the batch before it has started, and the `concurrency`-th before it has finished. */
  private slot: Promise<void> = Promise.resolve();
  /** The last `concurrency` handler calls, in the order they were started. */
  private recent: Array<Promise<void>> = [];
  private readonly concurrency: number;
  private stopping = false;
  private readonly streamName: string;
  private readonly batchMax: number;
  private readonly maxDeliver: number;
  private readonly notReadyMaxDeliver: number;
  /**
   * The server's max_deliver: two deliveries past the larger budget, so that a process killed during a message's
   * last allowed attempt still sees it again. A message reaching this delivery is dead-lettered before its handler.
   */
  private readonly lastDelivery: number;
  private readonly ackWaitMs: number;
  private readonly nakBackoff: { initial: number; max: number };

  private readonly processed = metric.counter({
    name: 'nats_consumed_total',
    help: 'messages handled by durable consumers, by outcome (ack, nak, retry_later, dead_letter, ignored)',
    labelNames: ['durable', 'outcome'],
  });
  private readonly handlerSeconds = metric.histogram({
    name: 'nats_handler_duration_seconds',
    help: 'time a consumer handler took per batch',
    labelNames: ['durable'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  constructor(
    private readonly connection: JetStreamConnection,
    private readonly options: ConsumerOptions,
    private readonly handler: DeliveryHandler,
    defaults: { maxDeliver: number; ackWaitMs: number; notReadyMaxDeliver?: number },
  ) {
    if (options.events.length === 0) throw new Error(`consumer ${options.durable} handles no events`);
    const streams = new Set(options.events.map((e) => streamFor(e).name));
    if (streams.size !== 1) throw new Error(`consumer ${options.durable} mixes streams: ${[...streams].join(', ')}`);
    this.streamName = [...streams][0]!;
    this.batchMax = Math.max(1, options.batch?.max ?? 1);
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.maxDeliver = options.maxDeliver ?? defaults.maxDeliver;
    this.notReadyMaxDeliver = options.notReadyMaxDeliver ?? defaults.notReadyMaxDeliver ?? this.maxDeliver;
    this.lastDelivery = Math.max(this.maxDeliver, this.notReadyMaxDeliver) + 2;
    this.ackWaitMs = options.ackWaitMs ?? defaults.ackWaitMs;
    this.nakBackoff = options.nakBackoffMs ?? { initial: 500, max: 30_000 };
    this.logger = new Logger(`Consumer:${options.durable}`);
  }

  /** nats-server 2.9 takes one filter subject per consumer: one event → its own filter, several → the stream's. */
  get filterSubject(): string {
    if (this.options.events.length === 1) return subjectFilter(this.options.events[0]!);
    return Object.values(STREAMS).find((s) => s.name === this.streamName)!.subjects[0];
  }

  async start(): Promise<void> {
    const { js, jsm } = await this.connection.get();
    const config: Partial<ConsumerConfig> = {
      durable_name: this.options.durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.ackWaitMs),
      max_deliver: this.lastDelivery,
      filter_subject: this.filterSubject,
      max_ack_pending: Math.max(1_000, this.batchMax * 4),
    };
    try {
      await jsm.consumers.info(this.streamName, this.options.durable);
      await jsm.consumers.update(this.streamName, this.options.durable, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        filter_subject: config.filter_subject,
        max_ack_pending: config.max_ack_pending,
      });
    } catch (e) {
      if (!/consumer not found/i.test(String((e as Error).message))) throw e;
      await jsm.consumers.add(this.streamName, {
        ...config,
        deliver_policy: this.options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
      });
    }
    const consumer = await js.consumers.get(this.streamName, this.options.durable);
    this.messages = await consumer.consume({ max_messages: Math.max(64, this.batchMax * 2) });
    this.loop = this.run(this.messages);
  }

  /** Stops pulling, finishes the batch in hand (and acks it), and leaves everything else for redelivery. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
    clearTimeout(this.timer);
    await this.flush();
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        if (this.stopping) {
          msg.nak();
          continue;
        }
        const pending = await this.prepare(msg);
        if (!pending) continue;
        this.buffer.push(pending);
        if (this.buffer.length >= this.batchMax) {
          // The next batch is read and decoded while this one waits for or is in its handler: one batch ahead of
          // the handler calls, never more.
          const ready = this.slot;
          void this.flush();
          await ready;
        } else this.armTimer();
      }
    } catch (e) {
      if (!this.stopping) this.logger.error(`consumer loop ended: ${(e as Error).message}`);
    }
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.batch?.maxWaitMs ?? 0);
  }

  /**
   * Hands the buffered batch to the handler once a slot is free (batches start in delivery order; with concurrency
   * 1 each waits for the one before it to finish). Resolves when every call in flight has finished.
   */
  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length > 0) {
      // Never rejects: a batch whose handling failed outright (not even a nak went out) is redelivered after ack_wait.
      const run = this.slot
        .then(() => this.process(batch))
        .catch((e: unknown) => this.logger.error(`a batch of ${batch.length} failed and will be redelivered: ${(e as Error).message}`));
      this.recent.push(run);
      if (this.recent.length >= this.concurrency) {
        this.slot = Promise.all([this.slot, this.recent[this.recent.length - this.concurrency]]).then(() => undefined);
        this.recent = this.recent.slice(-this.concurrency);
      }
    }
    return Promise.all(this.recent).then(() => undefined);
  }

  private async process(batch: Pending[]): Promise<void> {
    const end = this.handlerSeconds.startTimer({ durable: this.options.durable });
    // A handler may legitimately wait (for a dependency to catch up): keep the server from redelivering meanwhile.
    const heartbeat = setInterval(() => {
      for (const p of batch) p.msg.working();
    }, Math.max(100, Math.floor(this.ackWaitMs / 2)));
    let result: HandlerResult;
    try {
      result = await this.handler(batch.map((p) => p.delivery));
    } catch (e) {
      if (isDependencyDown(e)) {
        await this.waitForDependency(batch, e);
        return;
      }
      if (batch.length > 1) {
        for (const p of batch) await this.process([p]);
        return;
      }
      await this.fail(batch[0]!, e);
      return;
    } finally {
      clearInterval(heartbeat);
      end();
    }
    await this.settle(batch, result);
  }

  /** Acks what the handler took, and hands back (or, past the waiting budget, dead-letters) what it could not take yet. */
  private async settle(batch: Pending[], result: HandlerResult): Promise<void> {
    const later = new Set(result ? result.retryLater : []);
    let retried = 0;
    for (const p of batch) {
      if (!later.has(p.delivery)) p.msg.ack();
      else if (await this.waitOrGiveUp(p, result!.delayMs, 'not_ready', `still not ready at delivery ${p.msg.info.deliveryCount}`)) retried += 1;
    }
    this.processed.inc({ durable: this.options.durable, outcome: 'ack' }, batch.length - later.size);
    if (retried > 0) this.processed.inc({ durable: this.options.durable, outcome: 'retry_later' }, retried);
  }

  /** Redelivers a batch whose handler could not reach a dependency, later and later; dead-letters past the waiting budget. */
  private async waitForDependency(batch: Pending[], err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    let waiting = 0;
    for (const p of batch) if (await this.waitOrGiveUp(p, this.nakBackoff.initial, 'unavailable', message)) waiting += 1;
    if (waiting === 0) return;
    this.processed.inc({ durable: this.options.durable, outcome: 'nak' }, waiting);
    this.logger.warn(`${waiting} messages wait for a dependency (delivery ${batch[0]!.msg.info.deliveryCount} of the first): ${message}`);
  }

  /**
   * One message that waits: redelivered after a delay doubling from `initialMs` (at most RETRY_LATER_MAX_MS), or,
   * at the last delivery of the waiting budget, dead-lettered with `reason`. True when it was handed back.
   */
  private async waitOrGiveUp(p: Pending, initialMs: number, reason: string, detail: string): Promise<boolean> {
    if (p.msg.info.deliveryCount >= this.notReadyMaxDeliver) {
      await this.deadLetter(p.msg, reason, detail);
      return false;
    }
    p.msg.nak(backoffDelay(p.msg.info.deliveryCount, initialMs, RETRY_LATER_MAX_MS));
    return true;
  }

  private async fail(p: Pending, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof PoisonMessageError) return this.deadLetter(p.msg, 'poison', message);
    if (p.msg.info.deliveryCount >= this.maxDeliver) return this.deadLetter(p.msg, 'max_deliver', message);
    p.msg.nak(backoffDelay(p.msg.info.deliveryCount, this.nakBackoff.initial, this.nakBackoff.max));
    this.processed.inc({ durable: this.options.durable, outcome: 'nak' });
    this.logger.warn(`delivery ${p.msg.info.deliveryCount} of ${p.msg.subject} failed, will retry: ${message}`);
  }

  /** Parses and validates; poison is dead-lettered here and never reaches the handler. */
  private async prepare(msg: JsMsg): Promise<Pending | undefined> {
    if (msg.info.deliveryCount >= this.lastDelivery) {
      // Every budget is spent and the server delivers it no more: only a handler that never settled it (its
      // process died each time) lets a message get here.
      await this.deadLetter(msg, 'max_deliver', `delivered ${msg.info.deliveryCount} times without being settled`);
      return undefined;
    }
    const event = eventForSubject(msg.subject);
    if (!event) {
      await this.deadLetter(msg, 'unknown_subject', `no event is published on ${msg.subject}`);
      return undefined;
    }
    if (!this.options.events.includes(event)) {
      msg.ack();
      this.processed.inc({ durable: this.options.durable, outcome: 'ignored' });
      return undefined;
    }
    let body: unknown;
    try {
      body = JSON.parse(decoder.decode(msg.data));
    } catch (e) {
      await this.deadLetter(msg, 'invalid_json', (e as Error).message);
      return undefined;
    }
    const checked = validateEvent(event, body);
    if (!checked.ok) {
      await this.deadLetter(msg, 'schema_invalid', checked.errors.join('; '));
      return undefined;
    }
    return {
      msg,
      delivery: {
        event,
        payload: checked.value,
        subject: msg.subject,
        deliveryCount: msg.info.deliveryCount,
        streamSequence: msg.info.streamSequence,
        msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
        publishedAt: Math.floor(msg.info.timestampNanos / 1e6),
      } as Delivery,
    };
  }

  private async deadLetter(msg: JsMsg, reason: string, detail: string): Promise<void> {
    const { js } = await this.connection.get();
    const h = natsHeaders();
    h.set(DEAD_LETTER_HEADERS.reason, reason);
    h.set(DEAD_LETTER_HEADERS.detail, detail.replace(/[\r\n]+/g, ' ').slice(0, 2000));
    h.set(DEAD_LETTER_HEADERS.originalSubject, msg.subject);
    h.set(DEAD_LETTER_HEADERS.stream, this.streamName);
    h.set(DEAD_LETTER_HEADERS.streamSequence, String(msg.info.streamSequence));
    h.set(DEAD_LETTER_HEADERS.deliveries, String(msg.info.deliveryCount));
    h.set(DEAD_LETTER_HEADERS.consumer, this.options.durable);
    await js.publish(deadLetterSubject(this.streamName, this.options.durable), msg.data, {
      headers: h,
      msgID: `dlq:${this.streamName}:${this.options.durable}:${msg.info.streamSequence}`,
    });
    // No reason on the term: nats-server 2.9 (Debian's) takes only a bare "+TERM" and ignores "+TERM <reason>", so
    // the message came back every ack wait. The reason travels in the dead letter's headers instead.
    msg.term();
    this.processed.inc({ durable: this.options.durable, outcome: 'dead_letter' });
    this.logger.warn(`dead-lettered ${msg.subject} (seq ${msg.info.streamSequence}): ${reason}: ${detail.slice(0, 300)}`);
  }
}
