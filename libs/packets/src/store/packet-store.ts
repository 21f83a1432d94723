import { LRUCache } from 'lru-cache';
import {
  packetKey,
  type PacketAcknowledgedV1,
  type PacketId,
  type PacketAckWrittenV1,
  type PacketReceivedV1,
  type PacketSentV1,
  type PacketTimedOutV1,
} from '@unstuck/contracts';
import type { Database } from '@unstuck/db';
import type { OutgoingEvent } from '@unstuck/messaging';

/**
 * Everything known about one packet from one batch of events: each fact once, whatever order it came in. Flat, so
 * that it is the JSON row the upsert reads (json_to_recordset ignores the keys it does not name).
 */
interface PacketPatch extends PacketId {
  /** Block time of the earliest event in the batch: the packet's created_at if the batch is the first to see it. */
  firstSeen: string;
  /** The packet's packet_keys row, filled in just before the upsert. */
  id?: string;
  created_at?: string;
  dst_chain_id?: string;
  dst_port?: string;
  dst_channel?: string;
  connection_id?: string;
  channel_ordering?: string;
  timeout_revision_number?: string;
  timeout_revision_height?: string;
  timeout_timestamp_ns?: string;
  sender?: string;
  receiver?: string;
  denom?: string;
  amount?: string;
  memo?: string;
  send_height?: string;
  send_time?: string;
  send_tx_hash?: string;
  recv_height?: string;
  recv_time?: string;
  recv_tx_hash?: string;
  recv_relayer?: string;
  /** The receiving transaction wrote no acknowledgement (async ack); false when it did. */
  ack_pending?: boolean;
  ack_written_height?: string;
  ack_written_time?: string;
  ack_height?: string;
  ack_time?: string;
  ack_tx_hash?: string;
  ack_relayer?: string;
  ack_success?: boolean;
  timeout_time?: string;
  timeout_tx_hash?: string;
  timeout_relayer?: string;
}

interface RelayRow {
  block_time: string;
  chain_id: string;
  tx_hash: string;
  msg_index: number;
  kind: 'recv' | 'ack' | 'timeout';
  src_chain_id: string;
  src_port: string;
  src_channel: string;
  sequence: string;
  relayer: string;
  effected: boolean;
  height: string;
}

/** A packet's packet_keys row: its id and the partition (created_at) its packet_flow row lives in. */
interface KeyRow {
  id: string;
  created_at: string;
}

/**
 * A packet_keys row as the store reads it back: id and created_at as text (created_at keeps PostgreSQL's
 * microseconds; a JS Date would cut them to milliseconds and miss the packet_flow row's partition key).
 */
const KEY_ROW = 'src_chain_id, src_port, src_channel, sequence::text AS sequence, id::text AS id, created_at::text AS created_at';

/** Packet keys remembered per process (~100 bytes each). */
const KEYS_CACHED = 200_000;

export interface Cursor {
  chainId: string;
  height: string;
  blockTime: string;
}

export interface CommitResult {
  packets: number;
  relaysInserted: number;
}


/** Sets `field` only if the patch has no value yet: within a batch the first fact wins, as across batches. */
function put<K extends keyof PacketPatch>(patch: PacketPatch, field: K, value: PacketPatch[K] | undefined): void {
  if (value !== undefined && patch[field] === undefined) patch[field] = value;
}

function routeInto(patch: PacketPatch, e: PacketSentV1 | PacketReceivedV1 | PacketAckWrittenV1 | PacketAcknowledgedV1 | PacketTimedOutV1): void {
  put(patch, 'dst_chain_id', e.dst_chain_id);
  put(patch, 'dst_port', e.dst_port);
  put(patch, 'dst_channel', e.dst_channel);
  // The connection as the source chain names it: a recv event carries the destination's connection instead.
  if (e.chain_id === e.packet.src_chain_id) put(patch, 'connection_id', e.connection_id);
  put(patch, 'channel_ordering', e.channel_ordering);
  put(patch, 'timeout_revision_number', e.timeout_height.revision_number);
  put(patch, 'timeout_revision_height', e.timeout_height.revision_height);
  put(patch, 'timeout_timestamp_ns', e.timeout_timestamp_ns);
}

/** Folds a batch of packet events into one patch per packet plus the relay rows. */
export function foldEvents(events: readonly OutgoingEvent[]): { patches: PacketPatch[]; relays: RelayRow[] } {
  const patches = new Map<string, PacketPatch>();
  const relays: RelayRow[] = [];
  const patchFor = (key: PacketId, time: string) => {
    const k = packetKey(key);
    let p = patches.get(k);
    if (!p) {
      p = { src_chain_id: key.src_chain_id, src_port: key.src_port, src_channel: key.src_channel, sequence: key.sequence, firstSeen: time };
      patches.set(k, p);
    } else if (time < p.firstSeen) p.firstSeen = time;
    return p;
  };
  for (const { event, payload } of events) {
    switch (event) {
      case 'packet.sent': {
        const p = patchFor(payload.packet, payload.block_time);
        routeInto(p, payload);
        put(p, 'send_height', payload.height);
        put(p, 'send_time', payload.block_time);
        put(p, 'send_tx_hash', payload.tx_hash ?? undefined);
        if (payload.transfer) {
          put(p, 'sender', payload.transfer.sender);
          put(p, 'receiver', payload.transfer.receiver);
          put(p, 'denom', payload.transfer.denom);
          put(p, 'amount', payload.transfer.amount);
          put(p, 'memo', payload.transfer.memo);
        }
        break;
      }
      case 'packet.received':
      case 'packet.acknowledged':
      case 'packet.timed_out': {
        const kind = event === 'packet.received' ? 'recv' : event === 'packet.acknowledged' ? 'ack' : 'timeout';
        relays.push({
          block_time: payload.block_time,
          chain_id: payload.chain_id,
          tx_hash: payload.tx_hash,
          msg_index: payload.msg_index,
          kind,
          src_chain_id: payload.packet.src_chain_id,
          src_port: payload.packet.src_port,
          src_channel: payload.packet.src_channel,
          sequence: payload.packet.sequence,
          relayer: payload.relayer,
          effected: payload.effected,
          height: payload.height,
        });
        const p = patchFor(payload.packet, payload.block_time);
        routeInto(p, payload);
        // Only the relay that took effect on chain moves the packet; frontrun attempts are only relay rows.
        if (!payload.effected) break;
        if (event === 'packet.received') {
          put(p, 'recv_height', payload.height);
          put(p, 'recv_time', payload.block_time);
          put(p, 'recv_tx_hash', payload.tx_hash);
          put(p, 'recv_relayer', payload.relayer);
          const pending = payload.ack_pending === true;
          put(p, 'ack_pending', pending);
          if (!pending) {
            put(p, 'ack_written_height', payload.height);
            put(p, 'ack_written_time', payload.block_time);
          }
        } else if (event === 'packet.acknowledged') {
          put(p, 'ack_height', payload.height);
          put(p, 'ack_time', payload.block_time);
          put(p, 'ack_tx_hash', payload.tx_hash);
          put(p, 'ack_relayer', payload.relayer);
          put(p, 'ack_success', payload.ack_success);
        } else {
          put(p, 'timeout_time', payload.block_time);
          put(p, 'timeout_tx_hash', payload.tx_hash);
          put(p, 'timeout_relayer', payload.relayer);
        }
        break;
      }
      case 'packet.ack_written': {
        const p = patchFor(payload.packet, payload.block_time);
        routeInto(p, payload);
        put(p, 'ack_written_height', payload.height);
        put(p, 'ack_written_time', payload.block_time);
        break;
      }
      default:
        break;
    }
  }
  return { patches: [...patches.values()], relays };
}

/** Columns merged with COALESCE: the stored value wins, so a fact once recorded never changes. */
const MERGED = [
  ['dst_chain_id', 'text'],
  ['dst_port', 'text'],
  ['dst_channel', 'text'],
  ['connection_id', 'text'],
  ['channel_ordering', 'text'],
  ['sender', 'text'],
  ['receiver', 'text'],
  ['denom', 'text'],
  ['amount', 'numeric'],
  ['memo', 'text'],
  ['send_height', 'bigint'],
  ['send_time', 'timestamptz'],
  ['send_tx_hash', 'text'],
  ['recv_height', 'bigint'],
  ['recv_time', 'timestamptz'],
  ['recv_tx_hash', 'text'],
  ['recv_relayer', 'text'],
  ['ack_pending', 'boolean'],
  ['ack_written_height', 'bigint'],
  ['ack_written_time', 'timestamptz'],
  ['ack_height', 'bigint'],
  ['ack_time', 'timestamptz'],
  ['ack_tx_hash', 'text'],
  ['ack_relayer', 'text'],
  ['ack_success', 'boolean'],
  ['timeout_time', 'timestamptz'],
  ['timeout_tx_hash', 'text'],
  ['timeout_relayer', 'text'],
] as const;
const TIMEOUT_COLUMNS = [
  ['timeout_revision_number', 'bigint'],
  ['timeout_revision_height', 'bigint'],
  ['timeout_timestamp_ns', 'numeric'],
] as const;

const recordColumns = [
  'id bigint',
  'created_at timestamptz',
  'src_chain_id text',
  'src_port text',
  'src_channel text',
  'sequence bigint',
  ...MERGED.map(([c, t]) => `${c} ${t}`),
  ...TIMEOUT_COLUMNS.map(([c, t]) => `${c} ${t}`),
].join(', ');

/** status follows from which facts are known, never from the order they arrived in. */
const STATUS = (col: (c: string) => string) => `CASE WHEN ${col('timeout_time')} IS NOT NULL THEN 'timed_out'
                                                      WHEN ${col('ack_time')} IS NOT NULL THEN 'acknowledged'
                                                      WHEN ${col('recv_time')} IS NOT NULL THEN 'received'
                                                      ELSE 'sent' END`;
const CLEAR_TIME = (col: (c: string) => string) =>
  `(extract(epoch FROM coalesce(${col('ack_time')}, ${col('timeout_time')}) - ${col('send_time')}) * 1000)::bigint`;
const ALL = [...MERGED, ...TIMEOUT_COLUMNS].map(([c]) => c);
const input = (c: string) => `i.${c}`;
/** Inside ON CONFLICT: the row as it is now (after waiting for a concurrent writer's lock), merged with ours. */
const current = (c: string) => `coalesce(pf.${c}, EXCLUDED.${c})`;

/**
 * A batch's rows in one statement: the relay rows ($1), then the packets' rows ($2, every patch with its key).
 *
 * The merge happens in ON CONFLICT DO UPDATE, which sees the latest committed row after a concurrent writer's
 * lock is released (send ingested from one chain while the recv comes from another), so no fact can be lost to a
 * stale read. Its arbiter is the primary key, packet_flow's only unique index: a concurrent insert of the same new
 * row is merged only when it conflicts on the arbiter, any other unique index would raise unique_violation. New relays are added to relay_attempts only when their packet_relays row was really inserted: the
 * relay insert's RETURNING, counted per packet, without a round trip. Answers how many relay rows were inserted.
 */
const WRITE_ROWS = `
  WITH relays AS (
         INSERT INTO packet_relays (block_time, chain_id, tx_hash, msg_index, kind, src_chain_id, src_port, src_channel, sequence,
                                    relayer, effected, height)
         SELECT * FROM json_to_recordset($1::json) AS x(block_time timestamptz, chain_id text, tx_hash text, msg_index int, kind text,
                                                        src_chain_id text, src_port text, src_channel text, sequence bigint,
                                                        relayer text, effected boolean, height bigint)
         ORDER BY block_time, chain_id, tx_hash, msg_index
         ON CONFLICT DO NOTHING
         RETURNING src_chain_id, src_port, src_channel, sequence),
       new_relays AS (SELECT src_chain_id, src_port, src_channel, sequence, count(*)::int AS n FROM relays GROUP BY 1, 2, 3, 4),
       flow AS (
  INSERT INTO packet_flow AS pf (id, created_at, src_chain_id, src_port, src_channel, sequence, ${ALL.join(', ')},
                                 relay_attempts, status, clear_time_ms, updated_at)
  SELECT i.id, i.created_at, i.src_chain_id, i.src_port, i.src_channel, i.sequence,
         ${MERGED.map(([c]) => `i.${c}`).join(', ')},
         ${TIMEOUT_COLUMNS.map(([c]) => `coalesce(i.${c}, 0)`).join(', ')},
         coalesce(r.n, 0), ${STATUS(input)}, ${CLEAR_TIME(input)}, now()
    FROM json_to_recordset($2::json) AS i(${recordColumns})
    LEFT JOIN new_relays r ON (r.src_chain_id, r.src_port, r.src_channel, r.sequence) = (i.src_chain_id, i.src_port, i.src_channel, i.sequence)
   -- Rows are locked in key order in every statement, so two writers can wait for each other but never deadlock.
   ORDER BY i.src_chain_id, i.src_port, i.src_channel, i.sequence
  ON CONFLICT (created_at, id) DO UPDATE SET
    ${MERGED.map(([c]) => `${c} = ${current(c)}`).join(',\n    ')},
    relay_attempts = pf.relay_attempts + EXCLUDED.relay_attempts,
    status = ${STATUS(current)},
    clear_time_ms = ${CLEAR_TIME(current)},
    updated_at = now()
  RETURNING 1)
  SELECT (SELECT count(*) FROM relays)::int AS relays`;

/**
 * Group commit: the followers of one process hand their batches to a few writers (`lanes`), each of which commits
 * everything waiting when it is free (events of several chains and their cursors) in a single transaction.
 *
 * One writer was the catch-up's bottleneck: its transaction runs on one PostgreSQL backend, one core, while the
 * other waited. With two lanes, two transactions run at once. They stay safe:
 * - a follower hands over its next batch only once its previous one committed, so a chain has at most one batch in
 *   the writers at any time and its cursor still moves in order, in the same transaction as its rows;
 * - two lanes' transactions may touch the same packet (the send on one chain, the recv on another): every
 *   statement locks rows in key order, the upsert merges into the row as committed, and a key claimed by the other
 *   lane meanwhile is read back (the same as with another replica's writer).
 */
export class GroupCommitter {
  private queue: Array<{ events: readonly OutgoingEvent[]; cursor: Cursor; resolve: () => void; reject: (e: unknown) => void }> = [];
  private running = 0;

  constructor(
    private readonly store: PacketStore,
    private readonly maxEvents = 20_000,
    private readonly lanes = 2,
  ) {}

  commit(events: readonly OutgoingEvent[], cursor: Cursor): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ events, cursor, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running >= this.lanes) return;
    this.running += 1;
    try {
      while (this.queue.length > 0) {
        const group = [];
        let size = 0;
        while (this.queue.length > 0 && (group.length === 0 || size + this.queue[0]!.events.length <= this.maxEvents)) {
          const item = this.queue.shift()!;
          size += item.events.length;
          group.push(item);
        }
        try {
          await this.store.commit(group.flatMap((g) => g.events), group.map((g) => g.cursor));
          for (const g of group) g.resolve();
        } catch (e) {
          for (const g of group) g.reject(e);
        }
      }
    } finally {
      this.running -= 1;
    }
  }
}

/**
 * Writes packet events into packet_flow and packet_relays, and moves the chain's ingest cursor, in one transaction,
 * after claiming the packets' packet_keys rows in a statement of its own. Idempotent (the same events twice leave
 * the same rows) and order-independent (an ack backfilled before its send ends in the same row as the reverse):
 * every fact is merged with COALESCE and the status is derived from the facts.
 */
export class PacketStore {
  /**
   * packet_keys rows this process has claimed or read: a packet's id and created_at never change once claimed, so a
   * later batch with the same packet (its receive, its acknowledgement) neither claims nor looks its key up again.
   * Bounded; a key not here is simply claimed (ON CONFLICT DO NOTHING) and read back.
   */
  private readonly keys = new LRUCache<string, KeyRow>({ max: KEYS_CACHED });

  constructor(private readonly db: Database) {}

  async commit(events: readonly OutgoingEvent[], cursor?: Cursor | readonly Cursor[]): Promise<CommitResult> {
    const cursors = cursor === undefined ? [] : Array.isArray(cursor) ? (cursor as readonly Cursor[]) : [cursor as Cursor];
    const { patches, relays } = foldEvents(events);
    const keys = await this.claimKeys(patches);
    return this.db.write(async (m) => {
      let relaysInserted = 0;
      // Every relay has its packet's patch, so there are relays only if there are patches.
      if (patches.length > 0) {
        for (const p of patches) {
          const k = packetKey(p);
          const row = keys.get(k);
          if (!row) throw new Error(`packet ${k} has no packet_keys row after claiming it`);
          p.id = row.id;
          p.created_at = row.created_at;
        }
        const [written] = await m.query<Array<{ relays: number }>>(WRITE_ROWS, [JSON.stringify(relays), JSON.stringify(patches)]);
        relaysInserted = written!.relays;
      }
      for (const c of [...cursors].sort((a, b) => a.chainId.localeCompare(b.chainId))) {
        await m.query(
          `INSERT INTO ingest_cursors (chain_id, height, block_time, updated_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (chain_id) DO UPDATE SET
             height = GREATEST(ingest_cursors.height, EXCLUDED.height),
             block_time = CASE WHEN EXCLUDED.height >= ingest_cursors.height THEN EXCLUDED.block_time ELSE ingest_cursors.block_time END,
             updated_at = now()`,
          [c.chainId, c.height, c.blockTime],
        );
      }
      return { packets: patches.length, relaysInserted };
    });
  }

  /**
   * The sender and receiver of each packet, by packetKey, for events that do not name them (receive,
   * acknowledgement, timeout). From the primary: ingest committed these rows moments ago.
   */
  async walletsOf(packets: readonly PacketId[]): Promise<Map<string, string[]>> {
    if (packets.length === 0) return new Map();
    const rows = await this.db.query<PacketId & { sender: string | null; receiver: string | null }>(
      `SELECT k.src_chain_id, k.src_port, k.src_channel, k.sequence::text AS sequence, f.sender, f.receiver
         FROM json_to_recordset($1::json) AS i(src_chain_id text, src_port text, src_channel text, sequence bigint)
         JOIN packet_keys k USING (src_chain_id, src_port, src_channel, sequence)
         JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id`,
      [JSON.stringify(packets)],
    );
    return new Map(rows.map((r) => [packetKey(r), [r.sender, r.receiver].filter((w): w is string => !!w)]));
  }

  /**
   * Records heights `from`..`to` of a chain as a gap (no endpoint has them) and moves its cursor past them, in one
   * transaction: a restart resumes after the gap, and recording the same gap again changes nothing.
   */
  async recordGap(gap: { chainId: string; from: number; to: number; reason: 'pruned' | 'no_results'; detail: string }): Promise<boolean> {
    return this.db.write(async (m) => {
      // A gap right after one of the same reason extends it (a node without ABCI results loses every height but
      // its head: one row, not one per height).
      const extended = await m.query<Array<{ chain_id: string }>>(
        // In a CTE: TypeORM answers a bare UPDATE with [rows, count], a SELECT with its rows.
        `WITH u AS (UPDATE ingest_gaps SET to_height = $3, detail = $5 WHERE chain_id = $1 AND to_height = $2::bigint - 1 AND reason = $4 RETURNING chain_id)
         SELECT chain_id FROM u`,
        [gap.chainId, gap.from, gap.to, gap.reason, gap.detail.slice(0, 2000)],
      );
      const inserted = extended.length
        ? extended
        : await m.query<Array<{ chain_id: string }>>(
            `INSERT INTO ingest_gaps (chain_id, from_height, to_height, reason, detail) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (chain_id, from_height) DO NOTHING RETURNING chain_id`,
            [gap.chainId, gap.from, gap.to, gap.reason, gap.detail.slice(0, 2000)],
          );
      await m.query(
        `INSERT INTO ingest_cursors (chain_id, height, block_time, updated_at) VALUES ($1, $2, NULL, now())
         ON CONFLICT (chain_id) DO UPDATE SET height = GREATEST(ingest_cursors.height, EXCLUDED.height), updated_at = now()`,
        [gap.chainId, gap.to],
      );
      return inserted.length > 0;
    });
  }

  async cursor(chainId: string): Promise<string | undefined> {
    const rows = await this.db.query<{ height: string }>(`SELECT height FROM ingest_cursors WHERE chain_id = $1`, [chainId]);
    return rows[0]?.height;
  }

  /**
   * First sight of a packet fixes its id and partition (created_at); later batches find them here. Returns every
   * patch's key row: from this process's cache, else claimed now, else as another writer committed it.
   *
   * Claimed outside the rows' transaction, in one statement that commits at once. Inside it, a key claimed by a
   * transaction still writing its rows (the other writer lane, another replica) made this one wait for that whole
   * transaction: with two lanes, the key claim was the costliest statement (140–225 µs per key, against 18–32 µs
   * alone), mostly that wait. A key whose rows' transaction then fails stays claimed: it has no packet_flow row
   * (every reader joins packet_keys to packet_flow, so it shows nowhere), and the retry finds and uses it.
   */
  private async claimKeys(patches: readonly PacketPatch[]): Promise<Map<string, KeyRow>> {
    const out = new Map<string, KeyRow>();
    const unknown: Array<PacketId & { first_seen: string }> = [];
    for (const p of patches) {
      const k = packetKey(p);
      const cached = this.keys.get(k);
      if (cached) out.set(k, cached);
      else unknown.push({ src_chain_id: p.src_chain_id, src_port: p.src_port, src_channel: p.src_channel, sequence: p.sequence, first_seen: p.firstSeen });
    }
    if (unknown.length === 0) return out;
    // One statement: the keys it inserts (RETURNING) and the ones that were already there (the join reads the
    // snapshot from before the insert, so no key comes back twice).
    const found = await this.db.query<PacketId & KeyRow>(
      `WITH i AS (SELECT * FROM json_to_recordset($1::json) AS x(src_chain_id text, src_port text, src_channel text, sequence bigint, first_seen timestamptz)),
            claimed AS (INSERT INTO packet_keys (src_chain_id, src_port, src_channel, sequence, created_at)
                        SELECT src_chain_id, src_port, src_channel, sequence, first_seen FROM i
                        ORDER BY 1, 2, 3, 4
                        ON CONFLICT DO NOTHING
                        RETURNING ${KEY_ROW})
       SELECT * FROM claimed
       UNION ALL
       SELECT ${KEY_ROW} FROM i JOIN packet_keys USING (src_chain_id, src_port, src_channel, sequence)`,
      [JSON.stringify(unknown)],
    );
    const take = (rows: Array<PacketId & KeyRow>) => {
      for (const r of rows) {
        const row = { id: r.id, created_at: r.created_at };
        out.set(packetKey(r), row);
        this.keys.set(packetKey(r), row);
      }
    };
    take(found);
    // A key another writer committed while this statement waited for its lock is in neither half: read it now.
    const late = unknown.filter((u) => !out.has(packetKey(u)));
    if (late.length > 0) {
      take(
        await this.db.query<PacketId & KeyRow>(
          `SELECT ${KEY_ROW}
             FROM json_to_recordset($1::json) AS i(src_chain_id text, src_port text, src_channel text, sequence bigint)
             JOIN packet_keys USING (src_chain_id, src_port, src_channel, sequence)`,
          [JSON.stringify(late)],
        ),
      );
    }
    return out;
  }
}
