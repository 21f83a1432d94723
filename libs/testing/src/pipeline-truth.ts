import type { SimPacket } from './chain-sim';

/** What the checks need of a database (libs/db's Database; not imported, since libs/db's tests use this lib). */
interface Queryable {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** chain-sim's ground truth for one packet, with what ingest must have stored of it. */
export interface TruthPacket extends SimPacket {
  fate: string;
  sender: string;
  receiver: string;
  amount: string;
  recv_relayers: string[];
  ack_relayers: string[];
  timeout_relayers: string[];
}

/** The packets of a run as three arrays (chain, channel, sequence) for `unnest($1, $2, $3)`. */
export function packetKeys(truth: readonly SimPacket[]): [string[], string[], string[]] {
  return [truth.map((p) => p.src_chain_id), truth.map((p) => p.src_channel), truth.map((p) => p.sequence)];
}

/** Every packet chain-sim made, compared with its packet_flow row; returns the differences (none: all stored right). */
export async function packetDifferences(db: Queryable, truth: readonly TruthPacket[]): Promise<string[]> {
  const rows = await db.query<{
    src_chain_id: string;
    src_channel: string;
    sequence: string;
    status: string;
    sender: string;
    receiver: string;
    amount: string;
    recv_relayer: string | null;
    ack_relayer: string | null;
    timeout_relayer: string | null;
    relay_attempts: number;
  }>(
    `SELECT f.src_chain_id, f.src_channel, f.sequence::text, f.status, f.sender, f.receiver, f.amount::text, f.recv_relayer,
            f.ack_relayer, f.timeout_relayer, f.relay_attempts
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
       JOIN packet_flow f ON f.src_chain_id = t.c AND f.src_port = 'transfer' AND f.src_channel = t.ch AND f.sequence = t.s`,
    packetKeys(truth),
  );
  const byKey = new Map(rows.map((r) => [`${r.src_chain_id}/${r.src_channel}/${r.sequence}`, r]));
  const diffs: string[] = [];
  for (const p of truth) {
    const key = `${p.src_chain_id}/${p.src_channel}/${p.sequence}`;
    const r = byKey.get(key);
    if (!r) {
      diffs.push(`${key}: missing`);
      continue;
    }
    const expected = {
      status: p.state,
      sender: p.sender,
      receiver: p.receiver,
      amount: p.amount,
      recv_relayer: p.recv_relayers[0] ?? null,
      ack_relayer: p.ack_relayers[0] ?? null,
      timeout_relayer: p.timeout_relayers[0] ?? null,
      relay_attempts: p.recv_relayers.length + p.ack_relayers.length + p.timeout_relayers.length,
    };
    for (const [k, v] of Object.entries(expected)) {
      if ((r as Record<string, unknown>)[k] !== v) diffs.push(`${key}: ${k} is ${String((r as Record<string, unknown>)[k])}, chain-sim says ${String(v)}`);
    }
  }
  return diffs;
}

/** Per-chain network counts and per-relayer counts, as numbers keyed `chain` and `relayer@chain`. */
export interface StatsCounts {
  network: Record<string, { sent: number; received: number; acknowledged: number; timed_out: number }>;
  relayers: Record<string, { relayed: number; effected: number; frontrun: number }>;
}

const NETWORK_FIELDS = ['sent', 'received', 'acknowledged', 'timed_out'] as const;
const RELAYER_FIELDS = ['relayed', 'effected', 'frontrun'] as const;

function counts(network: Array<Record<string, string>>, relayers: Array<Record<string, string>>): StatsCounts {
  const numbers = <F extends string>(r: Record<string, string>, fields: readonly F[]) =>
    Object.fromEntries(fields.map((f) => [f, Number(r[f])])) as Record<F, number>;
  return {
    network: Object.fromEntries(network.map((r) => [r.chain_id!, numbers(r, NETWORK_FIELDS)])),
    relayers: Object.fromEntries(relayers.map((r) => [`${r.relayer}@${r.chain_id}`, numbers(r, RELAYER_FIELDS)])),
  };
}

/** What the aggregators wrote for these chains, summed over days and channels (statistics outlive test runs). */
export async function statsTotals(db: Queryable, chainIds: readonly string[]): Promise<StatsCounts> {
  const network = await db.query<Record<string, string>>(
    `SELECT chain_id, sum(packets_sent)::text AS sent, sum(packets_received)::text AS received,
            sum(packets_acknowledged)::text AS acknowledged, sum(packets_timed_out)::text AS timed_out
       FROM network_stats WHERE chain_id = ANY($1) GROUP BY 1`,
    [chainIds],
  );
  const relayers = await db.query<Record<string, string>>(
    `SELECT relayer_address AS relayer, chain_id, sum(packets_relayed)::text AS relayed, sum(packets_effected)::text AS effected,
            sum(packets_frontrun)::text AS frontrun
       FROM relayer_performance WHERE chain_id = ANY($1) GROUP BY 1, 2`,
    [chainIds],
  );
  return counts(network, relayers);
}

/** The same counts recomputed from packet_flow and packet_relays for the packets of a run. */
export async function statsRecount(db: Queryable, truth: readonly SimPacket[]): Promise<StatsCounts> {
  const keys = packetKeys(truth);
  const network = await db.query<Record<string, string>>(
    `WITH run AS (SELECT f.* FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
                    JOIN packet_flow f ON f.src_chain_id = t.c AND f.src_port = 'transfer' AND f.src_channel = t.ch AND f.sequence = t.s),
          facts AS (SELECT src_chain_id AS chain_id, 1 AS sent, 0 AS received, (ack_time IS NOT NULL)::int AS acknowledged,
                           (timeout_time IS NOT NULL)::int AS timed_out FROM run WHERE send_time IS NOT NULL
                    UNION ALL
                    SELECT dst_chain_id, 0, 1, 0, 0 FROM run WHERE recv_time IS NOT NULL)
     SELECT chain_id, sum(sent)::text AS sent, sum(received)::text AS received, sum(acknowledged)::text AS acknowledged,
            sum(timed_out)::text AS timed_out FROM facts GROUP BY 1`,
    keys,
  );
  const relayers = await db.query<Record<string, string>>(
    `SELECT r.relayer, r.chain_id, count(*)::text AS relayed, count(*) FILTER (WHERE r.effected)::text AS effected,
            count(*) FILTER (WHERE NOT r.effected)::text AS frontrun
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
       JOIN packet_relays r ON r.src_chain_id = t.c AND r.src_port = 'transfer' AND r.src_channel = t.ch AND r.sequence = t.s
      GROUP BY 1, 2`,
    keys,
  );
  return counts(network, relayers);
}

/** `after` less `before`, leaving out the rows that did not change. */
export function statsGrowth(after: StatsCounts, before: StatsCounts): StatsCounts {
  const minus = <R extends Record<string, number>>(a: Record<string, R>, b: Record<string, R>): Record<string, R> =>
    Object.fromEntries(
      Object.entries(a)
        .map(([key, row]) => [key, Object.fromEntries(Object.entries(row).map(([f, v]) => [f, v - (b[key]?.[f] ?? 0)])) as R] as const)
        .filter(([, row]) => Object.values(row).some((v) => v !== 0)),
    );
  return { network: minus(after.network, before.network), relayers: minus(after.relayers, before.relayers) };
}
