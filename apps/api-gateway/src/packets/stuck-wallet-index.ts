import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { metric } from '@unstuck/observability';
import { GatewayDb } from '../data/gateway-db';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';

/**
 * Every wallet that may have a stuck packet, in memory. Most wallets looked up have none, and answering them needs
 * neither Redis nor the database: a wallet absent from the index has an empty stuck list.
 *
 * Kept true the way the cached lists are: a packet becomes stuck only through the stuck detector, which commits
 * and then publishes `packet.stuck`; every wallet named by such an event (and by every other event that
 * invalidates a list) is added at once. A wallet leaves when a load of its stuck list finds none (unless it was
 * added again meanwhile). As a safety net the whole set is rebuilt from the primary every
 * `STUCK_INDEX_REFRESH_SECONDS`, keeping wallets added while the rebuild ran. Until the first build, or above
 * `STUCK_INDEX_MAX_WALLETS`, the index answers "maybe" for everyone.
 */
@Injectable()
export class StuckWalletIndex implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StuckWalletIndex.name);
  /** Wallet → the tick it was last added at (a load that started after it may remove it). */
  private wallets: Map<string, number> | undefined;
  private tick = 0;
  /** Wallets added since the running rebuild started: its snapshot may predate them. */
  private addedDuringRebuild: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly size = metric.gauge({ name: 'gateway_stuck_index_wallets', help: 'wallets in the stuck-wallet index (-1: not built or over its cap)' });
  private readonly rebuilds = metric.counter({ name: 'gateway_stuck_index_rebuilds_total', help: 'stuck-wallet index rebuilds by outcome', labelNames: ['outcome'] });

  constructor(
    @Inject(GatewayDb) private readonly db: GatewayDb,
    @Inject(GATEWAY_ENV) private readonly env: AppEnv,
  ) {
    this.size.set(-1);
  }

  onApplicationBootstrap(): void {
    if (this.env.STUCK_INDEX_REFRESH_SECONDS <= 0) return;
    // In the background: a cold database never delays readiness (until built, every wallet is looked up).
    void this.rebuild();
    this.timer = setInterval(() => void this.rebuild(), this.env.STUCK_INDEX_REFRESH_SECONDS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** False only when the wallet certainly has no stuck packet. */
  mayHaveStuck(wallet: string): boolean {
    return this.wallets === undefined || this.wallets.has(wallet);
  }

  /** Wallets whose packets changed: they may have stuck packets now. */
  add(wallets: Iterable<string>): void {
    const tick = ++this.tick;
    for (const w of wallets) {
      this.wallets?.set(w, tick);
      this.addedDuringRebuild?.add(w);
    }
    if (this.wallets && this.wallets.size > this.env.STUCK_INDEX_MAX_WALLETS) this.disable('grew past');
  }

  /** A mark to pass to `forget` after a load: additions after it win. */
  mark(): number {
    return ++this.tick;
  }

  /** A load that began at `mark` found no stuck packet for the wallet: it leaves, unless added since. */
  forget(wallet: string, mark: number): void {
    const added = this.wallets?.get(wallet);
    if (added !== undefined && added < mark) this.wallets!.delete(wallet);
  }

  async rebuild(): Promise<void> {
    if (this.addedDuringRebuild) return;
    this.addedDuringRebuild = new Set();
    const tick = ++this.tick;
    try {
      // Both partial indexes on (sender|receiver, stuck_since) WHERE stuck_kind IS NOT NULL; from the primary, so a
      // wallet whose event was handled before this query is in its answer.
      const rows = await this.db.queryNamed<{ w: string }>(
        'gateway_stuck_wallets',
        `SELECT sender AS w FROM packet_flow WHERE stuck_kind IS NOT NULL AND sender IS NOT NULL
         UNION SELECT receiver FROM packet_flow WHERE stuck_kind IS NOT NULL AND receiver IS NOT NULL
         LIMIT $1`,
        [this.env.STUCK_INDEX_MAX_WALLETS + 1],
        'primary',
      );
      if (rows.length > this.env.STUCK_INDEX_MAX_WALLETS) {
        this.disable('has more than');
        this.rebuilds.inc({ outcome: 'over_cap' });
        return;
      }
      const next = new Map<string, number>();
      for (const r of rows) next.set(r.w, tick);
      for (const w of this.addedDuringRebuild) next.set(w, this.wallets?.get(w) ?? tick);
      this.wallets = next;
      this.size.set(next.size);
      this.rebuilds.inc({ outcome: 'built' });
    } catch (e) {
      // Keep the previous set (events still add to it); retried at the next interval.
      this.rebuilds.inc({ outcome: 'failed' });
      this.logger.warn(`stuck-wallet index not rebuilt: ${(e as Error).message}`);
    } finally {
      this.addedDuringRebuild = undefined;
    }
  }

  private disable(why: string): void {
    if (this.wallets) this.logger.warn(`stuck-wallet index off: ${why} STUCK_INDEX_MAX_WALLETS (${this.env.STUCK_INDEX_MAX_WALLETS}) wallets`);
    this.wallets = undefined;
    this.size.set(-1);
  }
}
