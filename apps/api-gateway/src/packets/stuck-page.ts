import type { CursorPosition } from '../http/pagination';
import type { PacketSummary, StuckPacket } from './packet-views';

/**
 * One packet of a wallet's stuck set as it is cached (in L1 and in Redis): what filtering, ordering and rendering
 * need, its JSON rendered once when the set is loaded. A set is cached whole, unfiltered, so one invalidation covers
 * every filter and page. (Cached as PacketSummary objects, with 17 strings each, a 50-packet set took ~70 KB of heap;
 * as this, ~43 KB: one string per packet and the few fields filters and cursors read.)
 */
export interface CachedStuck {
  /** `{"src_chain_id":…,"created_at":…,"role":…` — the item's JSON without the fields that depend on now. */
  head: string;
  /** created_at (ISO), the keyset cursor's time. */
  created: string;
  /** The packet's identity, which orders packets created in the same millisecond. */
  key: string;
  src: string;
  dst: string | null;
  kind: PacketSummary['stuck_kind'];
  sentAtMs: number;
  timeoutAtMs: number | null;
}

export interface StuckPageQuery {
  chain_id?: string;
  kind?: StuckPacket['stuck_kind'];
  min_age_seconds?: number;
  limit: number;
}

/** A packet of a wallet's stuck set, ready to cache. */
export function cachedStuck(row: PacketSummary, role: 'sender' | 'receiver', key: string): CachedStuck {
  return {
    head: `${JSON.stringify(row).slice(0, -1)},"role":${JSON.stringify(role)}`,
    created: row.created_at,
    key,
    src: row.src_chain_id,
    dst: row.dst_chain_id,
    kind: row.stuck_kind,
    sentAtMs: Date.parse(row.sent_at ?? row.created_at),
    timeoutAtMs: row.timeout_at ? Date.parse(row.timeout_at) : null,
  };
}

/** A number as JSON, as JSON.stringify writes it (NaN and infinities are null). */
const jsonNumber = (n: number | null) => (n === null || !Number.isFinite(n) ? 'null' : String(n));

/**
 * One page of a wallet's stuck set (sorted by created, then key) as the JSON the API answers — the same text as
 * `JSON.stringify({ items, next_cursor, snapshot_at })` with each item `{ ...row, role, age_seconds,
 * seconds_to_timeout }` — with ages and times to timeout as of `now`. `after` is the decoded cursor; `cursor` makes
 * the next one from the last item on the page.
 */
export function renderStuckPage(
  all: readonly CachedStuck[],
  q: StuckPageQuery,
  after: CursorPosition | undefined,
  now: number,
  cursor: (last: CachedStuck, snapshotAt: string) => string,
): string {
  const snapshotAt = new Date(now).toISOString();
  const items: string[] = [];
  let last: CachedStuck | undefined;
  let next: string | null = null;
  for (const p of all) {
    if (q.chain_id && p.src !== q.chain_id && p.dst !== q.chain_id) continue;
    if (q.kind && p.kind !== q.kind) continue;
    const age = Math.max(0, Math.floor((now - p.sentAtMs) / 1000));
    if (q.min_age_seconds !== undefined && age < q.min_age_seconds) continue;
    if (after && (p.created < after.t || (p.created === after.t && p.key <= after.id))) continue;
    if (items.length === q.limit) {
      next = cursor(last!, snapshotAt);
      break;
    }
    const timeout = p.timeoutAtMs === null ? null : Math.floor((p.timeoutAtMs - now) / 1000);
    items.push(`${p.head},"age_seconds":${jsonNumber(age)},"seconds_to_timeout":${jsonNumber(timeout)}}`);
    last = p;
  }
  return `{"items":[${items.join(',')}],"next_cursor":${JSON.stringify(next)},"snapshot_at":"${snapshotAt}"}`;
}
