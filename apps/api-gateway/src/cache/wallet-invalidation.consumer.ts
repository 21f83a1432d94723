import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { PacketId } from '@unstuck/contracts';
import { Database } from '@unstuck/db';
import { JetStreamHandler, type Delivery, type HandlerResult } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import { IngestCommitGate, PacketStore } from '@unstuck/packets';
import { PacketsService } from '../packets/packets.service';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';

export const CACHE_INVALIDATION_DURABLE = 'api-gateway-cache';

/** The events that move a packet into or out of a wallet's stuck list. */
const EVENTS = ['packet.received', 'packet.acknowledged', 'packet.timed_out', 'packet.stuck', 'packet.unstuck'] as const;

/**
 * Keeps the wallets' cached stuck lists true: every event that changes a packet's stuck state invalidates the
 * sender's and the receiver's lists (one shared durable consumer; the cache tells every gateway instance) and
 * sends those wallets' reads to the primary for a while. An event from ingest is acted on once ingest has committed
 * its block, so the list reloaded after the invalidation already reflects it.
 */
@Injectable()
export class WalletInvalidationConsumer implements OnModuleDestroy {
  private readonly gate: IngestCommitGate;
  private readonly packets: PacketStore;
  private stopping = false;
  private readonly invalidated = metric.counter({ name: 'gateway_cache_invalidations_total', help: 'wallet stuck lists invalidated by packet events' });

  constructor(
    @Inject(PacketsService) private readonly stuckLists: PacketsService,
    @Inject(Database) db: Database,
    @Inject(GATEWAY_ENV) private readonly env: AppEnv,
  ) {
    this.gate = new IngestCommitGate(db);
    this.packets = new PacketStore(db);
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  @JetStreamHandler({ durable: CACHE_INVALIDATION_DURABLE, events: [...EVENTS], deliverPolicy: 'new', batch: { max: 500, maxWaitMs: 20 } })
  async handle(deliveries: Delivery[]): Promise<HandlerResult> {
    const { ready, notYet } = await this.gate.split(deliveries, this.env.GATEWAY_COMMIT_WAIT_MS, () => this.stopping);
    const wallets = new Set<string>();
    const unknown: PacketId[] = [];
    for (const d of ready) {
      const p = d.payload as { packet: PacketId; sender?: string; receiver?: string };
      if (p.sender || p.receiver) {
        if (p.sender) wallets.add(p.sender);
        if (p.receiver) wallets.add(p.receiver);
      } else unknown.push(p.packet);
    }
    for (const found of (await this.packets.walletsOf(unknown)).values()) for (const w of found) wallets.add(w);
    if (wallets.size > 0) {
      await this.stuckLists.invalidateWallets(wallets);
      this.invalidated.inc(wallets.size);
    }
    // Still uncommitted after the wait (ingest stalled): handled again when redelivered.
    return notYet.length > 0 ? { retryLater: notYet, delayMs: 2_000 } : undefined;
  }
}
