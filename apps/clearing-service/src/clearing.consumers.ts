import { Inject, Injectable } from '@nestjs/common';
import { JetStreamHandler, type Delivery, type HandlerResult } from '@unstuck/messaging';
import { ClearingStore } from '@unstuck/clearing';
import { ClearingJobs } from './clearing.jobs';
import { ClearingService } from './clearing.service';

/**
 * What completes operations: ingest's packet events. A receipt, acknowledgement or timeout of a packet that a live
 * operation is clearing marks it cleared; the operation completes when all of its packets are.
 */
@Injectable()
export class PacketOutcomeConsumer {
  constructor(
    @Inject(ClearingStore) private readonly store: ClearingStore,
    @Inject(ClearingJobs) private readonly jobs: ClearingJobs,
  ) {}

  @JetStreamHandler({ durable: 'clearing-packet-outcomes', events: ['packet.received', 'packet.acknowledged', 'packet.timed_out'], batch: { max: 500, maxWaitMs: 50 }, deliverPolicy: 'new' })
  async handle(deliveries: Delivery[]): Promise<void> {
    const outcomes = deliveries.flatMap((d) =>
      d.event === 'packet.received' || d.event === 'packet.acknowledged' || d.event === 'packet.timed_out'
        ? [{ packet: d.payload.packet, kind: d.event === 'packet.received' ? ('received' as const) : d.event === 'packet.acknowledged' ? ('acknowledged' as const) : ('timed_out' as const), txHash: d.payload.tx_hash }]
        : [],
    );
    for (const operationId of await this.store.markCleared(outcomes)) await this.jobs.settle(operationId);
  }
}

/** First redelivery delay of an observed payment that cannot be verified yet (doubles, at most a minute). */
const PAYMENT_RETRY_MS = 1_000;

/** Payments nobody had to tell us about: bank sends with a CLR- memo to the hot wallet, seen by ingest. */
@Injectable()
export class PaymentObservedConsumer {
  constructor(@Inject(ClearingService) private readonly clearing: ClearingService) {}

  @JetStreamHandler({ durable: 'clearing-payments', events: ['clearing.payment_observed'], batch: { max: 50, maxWaitMs: 50 } })
  async handle(deliveries: Delivery[]): Promise<HandlerResult> {
    const later: Delivery[] = [];
    for (const d of deliveries) {
      if (d.event !== 'clearing.payment_observed') continue;
      if ((await this.clearing.paymentObserved(d.payload.chain_id, d.payload.tx_hash, d.payload.memo, d.payload.to)) === 'later') later.push(d);
    }
    // Not found yet (the node's tx index lags) or the chain unreadable: redelivered with growing delay, on the
    // waiting budget (about an hour), then dead-lettered as not_ready, never dropped.
    return later.length ? { retryLater: later, delayMs: PAYMENT_RETRY_MS } : undefined;
  }
}
