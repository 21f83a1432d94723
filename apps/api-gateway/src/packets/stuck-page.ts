import type { CursorPosition } from '../http/pagination';
import type { PacketSummary, StuckPacket } from './packet-views';

/** One row of a wallet's stuck set, as cached: whole, unfiltered, so one invalidation covers every filter and page. */
export interface CachedStuck {
  row: PacketSummary;
  role: 'sender' | 'receiver';
  /** The packet's identity as the keyset cursor orders it (ties on created_at). */
  key: string;
}

export interface StuckPageQuery {
  chain_id?: string;
  kind?: StuckPacket['stuck_kind'];
  min_age_seconds?: number;
  limit: number;
}

/** What of a row does not change from page to page: its JSON up to the per-answer fields, and its times. */
interface RenderedRow {
  /** `{"src_chain_id":…,"created_at":…,"role":…` — the item's JSON without the fields that depend on now. */
  head: string;
  sentAtMs: number;
  timeoutAtMs: number | null;
}

/**
 * Rendered rows per cached set. A set is one object for as long as it is cached (an invalidation or reload makes a
 * new one), so each row is serialized once per set instead of once per page: a page of 50 packets took ~55 µs in
 * JSON.stringify, most of what building a page costs before compression.
 */
const renderedSets = new WeakMap<readonly CachedStuck[], RenderedRow[]>();

function rendered(all: readonly CachedStuck[]): RenderedRow[] {
  let rows = renderedSets.get(all);
  if (!rows) {
    rows = all.map(({ row, role }) => ({
      head: `${JSON.stringify(row).slice(0, -1)},"role":${JSON.stringify(role)}`,
      sentAtMs: Date.parse(row.sent_at ?? row.created_at),
      timeoutAtMs: row.timeout_at ? Date.parse(row.timeout_at) : null,
    }));
    renderedSets.set(all, rows);
  }
  return rows;
}

/** A number as JSON, as JSON.stringify writes it (NaN and infinities are null). */
const jsonNumber = (n: number | null) => (n === null || !Number.isFinite(n) ? 'null' : String(n));

/**
 * One page of a wallet's stuck set (sorted by created_at, then key) as the JSON the API answers — the same text as
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
  const rows = rendered(all);
  const snapshotAt = new Date(now).toISOString();
  const items: string[] = [];
  let last: CachedStuck | undefined;
  let next: string | null = null;
  for (let i = 0; i < all.length; i++) {
    const entry = all[i]!;
    const { row, key } = entry;
    const r = rows[i]!;
    if (q.chain_id && row.src_chain_id !== q.chain_id && row.dst_chain_id !== q.chain_id) continue;
    if (q.kind && row.stuck_kind !== q.kind) continue;
    const age = Math.max(0, Math.floor((now - r.sentAtMs) / 1000));
    if (q.min_age_seconds !== undefined && age < q.min_age_seconds) continue;
    if (after && (row.created_at < after.t || (row.created_at === after.t && key <= after.id))) continue;
    if (items.length === q.limit) {
      next = cursor(last!, snapshotAt);
      break;
    }
    const timeout = r.timeoutAtMs === null ? null : Math.floor((r.timeoutAtMs - now) / 1000);
    items.push(`${r.head},"age_seconds":${jsonNumber(age)},"seconds_to_timeout":${jsonNumber(timeout)}}`);
    last = entry;
  }
  return `{"items":[${items.join(',')}],"next_cursor":${JSON.stringify(next)},"snapshot_at":"${snapshotAt}"}`;
}
