import type { Database } from '@unstuck/db';

/** A packet event as it travels: every one names the chain and height it was seen at. */
interface Positioned {
  payload: unknown;
}

/**
 * Ingest publishes a block's events before it commits the block's rows and cursor (a crash in between republishes
 * with the same message ids). A consumer that reads packet_flow for an event must therefore wait until ingest has
 * committed the event's block: this splits deliveries into those whose block is committed and those still waiting,
 * re-reading `ingest_cursors` at most every 100 ms however many batches ask.
 */
export class IngestCommitGate {
  private cached: { at: number; value: Map<string, bigint> } | undefined;

  constructor(private readonly db: Database) {}

  /**
   * Waits up to `waitMs` (or until `stopping()`) for the events' blocks; returns what is committed and what is not.
   *
   * Only a chain ingest has committed before is waited for. For one with no cursor at all (a chain no ingest
   * follows, or not yet: its first batch is being committed), waiting would hold the whole batch, and with it every
   * other chain's events, for nothing: such events are handed back at once, and a newly followed chain's first ones
   * are ready when redelivered.
   */
  async split<D extends Positioned>(deliveries: readonly D[], waitMs: number, stopping: () => boolean = () => false): Promise<{ ready: D[]; notYet: D[] }> {
    const deadline = Date.now() + waitMs;
    let { heights, fresh } = await this.read(false);
    for (;;) {
      const ready: D[] = [];
      const notYet: D[] = [];
      let worthWaiting = false;
      let unknownChain = false;
      for (const d of deliveries) {
        const p = d.payload as { chain_id?: string; height?: string };
        // Events that name no block (stats' own stuck flags) are committed by whoever published them.
        if (p.chain_id === undefined || p.height === undefined) ready.push(d);
        else {
          const at = heights.get(p.chain_id);
          if (at !== undefined && at >= BigInt(p.height)) ready.push(d);
          else {
            notYet.push(d);
            if (at !== undefined) worthWaiting = true;
            else unknownChain = true;
          }
        }
      }
      // Cursors read up to 100 ms ago may predate a chain's first commit: such a chain is looked up once more.
      if (!worthWaiting && unknownChain && !fresh) {
        ({ heights, fresh } = await this.read(true));
        continue;
      }
      if (!worthWaiting || Date.now() >= deadline || stopping()) return { ready, notYet };
      await new Promise((r) => setTimeout(r, 100));
      ({ heights, fresh } = await this.read(true));
    }
  }

  /** Committed heights by chain: the copy read in the last 100 ms unless `refresh`; `fresh` when read just now. */
  private async read(refresh: boolean): Promise<{ heights: Map<string, bigint>; fresh: boolean }> {
    if (!refresh && this.cached && Date.now() - this.cached.at < 100) return { heights: this.cached.value, fresh: false };
    const rows = await this.db.query<{ chain_id: string; height: string }>(`SELECT chain_id, height::text FROM ingest_cursors`);
    this.cached = { at: Date.now(), value: new Map(rows.map((r) => [r.chain_id, BigInt(r.height)])) };
    return { heights: this.cached.value, fresh: true };
  }
}
