import type { CursorPosition } from '../http/pagination';
import type { PacketSummary } from './packet-views';
import { cachedStuck, renderStuckPage, type CachedStuck, type StuckPageQuery } from './stuck-page';

/** A packet as the service loads it, before it is cached. */
interface Loaded {
  row: PacketSummary;
  role: 'sender' | 'receiver';
  key: string;
}
type Cursor = (t: string, id: string, snapshotAt: string) => string;

/**
 * The page as the service built it before packets were cached rendered: objects, then JSON.stringify. The text
 * renderer must answer byte for byte the same.
 */
function reference(all: Loaded[], q: StuckPageQuery, after: CursorPosition | undefined, now: number, cursor: Cursor): string {
  const items: object[] = [];
  let last: Loaded | undefined;
  let next: string | null = null;
  for (const entry of all) {
    const { row, role, key } = entry;
    if (q.chain_id && row.src_chain_id !== q.chain_id && row.dst_chain_id !== q.chain_id) continue;
    if (q.kind && row.stuck_kind !== q.kind) continue;
    const age = Math.max(0, Math.floor((now - Date.parse(row.sent_at ?? row.created_at)) / 1000));
    if (q.min_age_seconds !== undefined && age < q.min_age_seconds) continue;
    if (after && (row.created_at < after.t || (row.created_at === after.t && key <= after.id))) continue;
    if (items.length === q.limit) {
      next = cursor(last!.row.created_at, last!.key, new Date(now).toISOString());
      break;
    }
    const timeout = row.timeout_at ? Math.floor((Date.parse(row.timeout_at) - now) / 1000) : null;
    items.push({ ...row, role, age_seconds: age, seconds_to_timeout: timeout });
    last = entry;
  }
  return JSON.stringify({ items, next_cursor: next, snapshot_at: new Date(now).toISOString() });
}

const NOW = Date.parse('2026-11-22T12:00:00.000Z');

function packet(i: number): Loaded {
  // Pairs of packets share a creation time: the cursor's ties.
  const created = new Date(NOW - Math.floor((100 - i) / 2) * 60_000).toISOString();
  const row: PacketSummary = {
    src_chain_id: i % 2 ? 'cosmoshub-4' : 'osmosis-1',
    src_port: 'transfer',
    src_channel: `channel-${i % 4}`,
    sequence: String(1000 + i),
    dst_chain_id: i % 5 === 0 ? null : i % 2 ? 'osmosis-1' : 'neutron-1',
    dst_channel: i % 5 === 0 ? null : 'channel-0',
    status: i % 3 === 0 ? 'received' : 'sent',
    stuck_kind: i % 3 === 0 ? 'awaiting_ack' : i % 3 === 1 ? 'awaiting_recv' : 'timeout_pending',
    stuck_since: created,
    sender: 'cosmos1lx7w3k58lv2ql8dm5jcnas7j9j7u2xxpek6ypq',
    // Receivers are whatever the sender wrote: quotes, backslashes, control characters and non-ASCII text too.
    receiver: i % 7 === 0 ? `osmo1"quoted\\ \u0001 ünïcode ✓ ${i}` : `osmo1receiver${i}`,
    denom: i % 4 === 0 ? null : 'uatom',
    amount: String(i * 7919),
    sent_at: i % 6 === 0 ? null : created,
    timeout_height: i % 2 ? '0-0' : `1-${i * 10}`,
    timeout_at: i % 2 ? new Date(NOW + (i - 50) * 3_600_000).toISOString() : null,
    created_at: created,
  };
  return { row, role: i % 4 === 1 ? 'receiver' : 'sender', key: `${row.src_chain_id}/transfer/${row.src_channel}/${row.sequence.padStart(20, '0')}` };
}

describe('renderStuckPage', () => {
  const all = Array.from({ length: 60 }, (_, i) => packet(i)).sort((a, b) =>
    a.row.created_at < b.row.created_at ? -1 : a.row.created_at > b.row.created_at ? 1 : a.key < b.key ? -1 : 1,
  );
  const cursor: Cursor = (t, id, s) => `${t}|${id}|${s}`;
  const cached = all.map(({ row, role, key }) => cachedStuck(row, role, key));
  const render = (q: StuckPageQuery, after: CursorPosition | undefined, now: number) =>
    renderStuckPage(cached, q, after, now, (last: CachedStuck, s) => cursor(last.created, last.key, s));
  const queries: StuckPageQuery[] = [
    { limit: 100 },
    { limit: 50 },
    { limit: 7 },
    { limit: 1 },
    { limit: 10, chain_id: 'neutron-1' },
    { limit: 10, kind: 'awaiting_ack' },
    { limit: 100, min_age_seconds: 3_000 },
    { limit: 5, chain_id: 'osmosis-1', kind: 'timeout_pending', min_age_seconds: 600 },
    { limit: 100, chain_id: 'no-such-chain' },
  ];

  it.each(queries)('answers the same text as building objects and JSON.stringify (%j)', (q) => {
    expect(JSON.parse(render(q, undefined, NOW))).toBeDefined();
    expect(render(q, undefined, NOW)).toBe(reference(all, q, undefined, NOW, cursor));
  });

  it('follows a cursor, ties on created_at broken by key, through to the last page', () => {
    const q = { limit: 7 };
    let after: CursorPosition | undefined;
    let pages = 0;
    const seen: string[] = [];
    for (;;) {
      const text = render(q, after, NOW);
      expect(text).toBe(reference(all, q, after, NOW, cursor));
      const page = JSON.parse(text) as { items: Array<{ sequence: string }>; next_cursor: string | null };
      seen.push(...page.items.map((p) => p.sequence));
      pages++;
      if (!page.next_cursor) break;
      const [t, id, s] = page.next_cursor.split('|') as [string, string, string];
      after = { t, id, s };
    }
    expect(pages).toBe(Math.ceil(all.length / 7));
    expect(seen).toEqual(all.map((p) => p.row.sequence));
  });

  it('answers the same from a set read back from Redis (a JSON round trip)', () => {
    const fromRedis = JSON.parse(JSON.stringify(cached)) as CachedStuck[];
    const q = { limit: 7, kind: 'awaiting_recv' as const };
    const c = (last: CachedStuck, s: string) => cursor(last.created, last.key, s);
    expect(renderStuckPage(fromRedis, q, undefined, NOW, c)).toBe(renderStuckPage(cached, q, undefined, NOW, c));
  });

  it('keeps answering from the same cached set with ages as of each call', () => {
    const q = { limit: 3 };
    const later = NOW + 61_500;
    const first = JSON.parse(render(q, undefined, NOW)) as { items: Array<{ age_seconds: number; seconds_to_timeout: number | null }> };
    const second = JSON.parse(render(q, undefined, later)) as typeof first;
    expect(render(q, undefined, later)).toBe(reference(all, q, undefined, later, cursor));
    first.items.forEach((item, i) => {
      expect(second.items[i]!.age_seconds - item.age_seconds).toBeGreaterThanOrEqual(61);
      if (item.seconds_to_timeout !== null) expect(item.seconds_to_timeout - second.items[i]!.seconds_to_timeout!).toBeGreaterThanOrEqual(61);
    });
  });
});
