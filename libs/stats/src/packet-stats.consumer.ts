import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { packetKey, type PacketId } from '@unstuck/contracts';
import { Database } from '@unstuck/db';
import { JetStreamHandler, type Delivery, type HandlerResult } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import { IngestCommitGate } from '@unstuck/packets';
import { contributionsOf, dayOf, type Contribution, type PacketEvent } from './aggregation';
import { STATS_ENV } from './tokens';
import type { StatsEnv } from './env';
import { StatsStore } from './stats-store';

export const PACKET_STATS_DURABLE = 'stats-aggregator';
const PACKET_EVENTS = ['packet.sent', 'packet.received', 'packet.acknowledged', 'packet.timed_out'] as const;

/**
 * Turns packet events into network, channel and relayer statistics.
 *
 * An event is aggregated only once ingest has committed its block (the chain's cursor is at or past the event's
 * height): ingest publishes before it commits, and the statistics read packet_flow for what the event alone does
 * not say (the send time of a received packet, the relayer that won a race). Events whose block is not committed
 * within STATS_COMMIT_WAIT_MS are redelivered later; the rest of the batch goes on.
 */
@Injectable()
export class PacketStatsConsumer implements OnModuleDestroy {
  private readonly logger = new Logger('PacketStats');
  private stopping = false;
  private readonly gate: IngestCommitGate;

  private readonly applied = metric.counter({
    name: 'stats_facts_total',
    help: 'facts offered to the statistics, by outcome (counted, duplicate, too_old)',
    labelNames: ['outcome'],
  });
  private readonly freshness = metric.histogram({
    name: 'stats_freshness_seconds',
    help: 'time from an event being stored in JetStream to the statistics it feeds being committed',
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
  });
  private readonly waiting = metric.counter({
    name: 'stats_commit_waits_total',
    help: 'events redelivered later because ingest had not committed their block in time',
  });
  private readonly effectedPackets = metric.counter({
    name: 'ibc_effected_packets',
    help: 'The number of packets that got relayed and were effected (Chainpulse-compatible)',
    labelNames: ['chain_id', 'src_channel', 'src_port', 'dst_channel', 'dst_port', 'signer', 'memo'],
  });
  private readonly uneffectedPackets = metric.counter({
    name: 'ibc_uneffected_packets',
    help: 'The number of packets that got relayed but were not effected (Chainpulse-compatible)',
    labelNames: ['chain_id', 'src_channel', 'src_port', 'dst_channel', 'dst_port', 'signer', 'memo'],
  });
  private readonly frontrunCounter = metric.counter({
    name: 'ibc_frontrun_counter',
    help: 'The number of times a signer gets frontrun by the original signer (Chainpulse-compatible)',
    labelNames: ['chain_id', 'src_channel', 'src_port', 'dst_channel', 'dst_port', 'signer', 'frontrunned_by', 'memo', 'effected_memo'],
  });

  constructor(
    @Inject(StatsStore) private readonly store: StatsStore,
    @Inject(STATS_ENV) private readonly env: StatsEnv,
    @Inject(Database) db: Database,
  ) {
    this.gate = new IngestCommitGate(db);
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  // Two batches at once, as two aggregator instances would: one's ledger insert and reads run beside the other's.
  // Their facts are deduplicated by the ledger and their rows locked in key order, so they cannot double-count or
  // deadlock; the second waits only on the statistics rows both touch.
  @JetStreamHandler({ durable: PACKET_STATS_DURABLE, events: PACKET_EVENTS, batch: { max: 1_000, maxWaitMs: 50 }, concurrency: 2 })
  async handle(deliveries: Delivery[]): Promise<HandlerResult> {
    const { ready, notYet } = await this.gate.split(deliveries, this.env.STATS_COMMIT_WAIT_MS, () => this.stopping);
    if (ready.length > 0) await this.aggregate(ready);
    if (notYet.length === 0) return undefined;
    this.waiting.inc(notYet.length);
    this.logger.warn(`${notYet.length} events wait for ingest to commit their blocks; redelivering later`);
    return { retryLater: notYet, delayMs: 5_000 };
  }

  /** Aggregates events whose blocks are committed. */
  private async aggregate(deliveries: Delivery[]): Promise<void> {
    const events = deliveries.map((d) => ({ event: d.event, payload: d.payload }) as PacketEvent);
    const cutoff = dayOf(new Date(Date.now() - this.env.STATS_LEDGER_RETENTION_DAYS * 86_400_000).toISOString());
    const packets = new Map<string, PacketId>();
    for (const e of events) packets.set(packetKey(e.payload.packet), e.payload.packet);
    const facts = await this.store.packetFacts([...packets.values()]);
    const all = contributionsOf(events, (p) => facts.get(packetKey(p)));
    // Facts older than the ledger's retention can no longer be deduplicated: counting them could count twice.
    const current = all.filter((c) => c.day >= cutoff);
    const fresh = await this.store.apply(current);
    const now = Date.now();
    for (const d of deliveries) this.freshness.observe(Math.max(0, now - d.publishedAt) / 1000);
    this.applied.inc({ outcome: 'counted' }, fresh.length);
    this.applied.inc({ outcome: 'duplicate' }, new Set(current.map((c) => c.fact)).size - fresh.length);
    if (all.length > current.length) this.applied.inc({ outcome: 'too_old' }, all.length - current.length);
    this.countRelays(fresh);
  }

  private countRelays(fresh: Contribution[]): void {
    for (const { relay } of fresh) {
      if (!relay) continue;
      const labels = {
        chain_id: relay.chain_id,
        src_channel: relay.packet.src_channel,
        src_port: relay.packet.src_port,
        dst_channel: relay.dst_channel,
        dst_port: relay.dst_port,
        signer: relay.signer,
        memo: '',
      };
      if (relay.effected) this.effectedPackets.inc(labels);
      else {
        this.uneffectedPackets.inc(labels);
        this.frontrunCounter.inc({ ...labels, frontrunned_by: relay.frontrunBy ?? 'unknown', effected_memo: '' });
      }
    }
  }
}
