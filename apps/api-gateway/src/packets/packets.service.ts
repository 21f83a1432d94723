import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { TieredCache, type Keyspace } from '@unstuck/cache';
import { MAX_STORED_SEQUENCE } from '@unstuck/contracts';
import { SingleFlight } from '@unstuck/resilience';
import { GatewayDb } from '../data/gateway-db';
import { EncodedBody } from '../http/encoded-body';
import { ApiError } from '../http/errors';
import { CursorCodec, type CursorPosition } from '../http/pagination';
import { metric } from '@unstuck/observability';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';
import { StuckWalletIndex } from './stuck-wallet-index';
import { iso, SUMMARY_COLUMNS, toSummary, type PacketDetail, type PacketSummary, type SummaryRow } from './packet-views';
import { cachedStuck, renderStuckPage, type CachedStuck, type StuckPageQuery } from './stuck-page';

/** A stuck lookup: whose, and the page's filters and size (as renderStuckPage reads them). */
export interface StuckQuery extends StuckPageQuery {
  wallet: string;
  cursor?: string;
}

export interface NetworkStuckQuery extends StuckPageQuery {
  channel?: string;
  cursor?: string;
}

export interface StreamQuery {
  wallet?: string;
  chain_id?: string;
  limit: number;
  cursor?: string;
}

export interface Listing<T> {
  items: T[];
  next_cursor: string | null;
  snapshot_at: string;
}

@Injectable()
export class PacketsService {
  readonly stuckKeyspace: Keyspace;
  private readonly cursors: CursorCodec;
  /** Identical concurrent reads (the same page, the same packet) run once and share the answer. */
  private readonly flights = new SingleFlight<unknown>();
  /**
   * Serialized stuck-list pages, reused for up to a second while the wallet's cached set is the same object (an
   * invalidation or reload makes a new one): a hot wallet's list is built, encoded and compressed once per second,
   * not per request. A reused body is a true snapshot as of its own snapshot_at. Bounded in bytes too (a page of 500
   * packets is ~0.3 MB), counting a quarter more for its compressed forms (a tenth each for these pages).
   */
  private readonly stuckBodies = new LRUCache<string, { source: unknown; body: EncodedBody }>({
    max: 10_000,
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (v) => Math.ceil(v.body.identity.length * 1.25),
    ttl: 1_000,
    ttlAutopurge: false,
  });
  /** The last answer for a wallet with no stuck packet, and the millisecond it is a snapshot of. */
  private empty: { at: number; body: EncodedBody } | undefined;
  private readonly indexAnswers = metric.counter({ name: 'gateway_stuck_index_answers_total', help: 'stuck lookups answered empty by the stuck-wallet index, without cache or database' });

  constructor(
    @Inject(GatewayDb) private readonly db: GatewayDb,
    @Inject(TieredCache) private readonly cache: TieredCache,
    @Inject(GATEWAY_ENV) private readonly env: AppEnv,
    @Inject(StuckWalletIndex) private readonly index: StuckWalletIndex,
  ) {
    // In L1 for CACHE_L1_TTL_MS (30 s): an invalidation removes a wallet's set from every instance at once, and while
    // invalidations cannot reach an instance its copies are served for CACHE_L1_UNSYNCED_TTL_MS (5 s) at most.
    this.stuckKeyspace = { name: 'stuck-by-wallet-v2', ttlMs: env.CACHE_STUCK_TTL_SECONDS * 1000, earlyRefreshBeta: 0 };
    this.cursors = new CursorCodec(env.GATEWAY_SECRET);
  }

  /**
   * A wallet's stuck packets, as sender or receiver, oldest first, as the JSON the API answers. Filters and pages
   * are applied to the wallet's cached set; a page encoded within the last second from the same set is reused.
   * Answered synchronously when no I/O is needed (the index says the wallet has none, or this process holds its
   * set): most lookups then skip the microtask queue altogether.
   */
  stuckJson(q: StuckQuery): EncodedBody | Promise<EncodedBody> {
    // The scope (a hash) binds cursors: it is computed only to read or write one. Most lookups are answered by the
    // index, or with a page built within the last second, without it.
    const after = q.cursor ? this.cursors.decode(q.cursor, stuckScope(q)) : undefined;
    if (!this.index.mayHaveStuck(q.wallet)) {
      this.indexAnswers.inc();
      return this.emptyPage();
    }
    const held = this.cache.peek<CachedStuck[]>(this.stuckKeyspace, q.wallet);
    if (held) return this.stuckPage(held.value, q, after);
    return this.stuckSet(q.wallet).then((all) => this.stuckPage(all, q, after));
  }

  /** The answer for a wallet with no stuck packet (an empty set's page), made once per millisecond (its snapshot time). */
  private emptyPage(): EncodedBody {
    const now = Date.now();
    if (this.empty?.at !== now) this.empty = { at: now, body: new EncodedBody(renderStuckPage([], { limit: 1 }, undefined, now, noCursor)) };
    return this.empty.body;
  }

  private stuckPage(all: CachedStuck[], q: StuckQuery, after: CursorPosition | undefined): EncodedBody {
    // Every part is validated (a bech32 address, a chain id, an enum, integers, a cursor's base64url): none holds NUL.
    const key = `${q.wallet}\u0000${q.chain_id ?? ''}\u0000${q.kind ?? ''}\u0000${q.min_age_seconds ?? ''}\u0000${q.limit}\u0000${q.cursor ?? ''}`;
    const reused = this.stuckBodies.get(key);
    if (reused && reused.source === all) return reused.body;
    const body = new EncodedBody(
      renderStuckPage(all, q, after, Date.now(), (last, snapshotAt) => this.cursors.encode({ t: last.created, id: last.key, s: snapshotAt }, stuckScope(q))),
    );
    this.stuckBodies.set(key, { source: all, body });
    return body;
  }

  private stuckSet(wallet: string): Promise<CachedStuck[]> {
    return this.cache.getOrLoad(this.stuckKeyspace, wallet, () => this.loadStuck(wallet));
  }

  private async loadStuck(wallet: string): Promise<CachedStuck[]> {
    const mark = this.index.mark();
    const preference = await this.db.preferenceFor(wallet);
    // Two index scans, on (sender, stuck_since) and (receiver, stuck_since) WHERE stuck_kind IS NOT NULL; a
    // self-transfer appears once. No ORDER BY here: ordered by stuck_since with a LIMIT, the planner prefers walking
    // every stuck packet in time order (idx_packet_flow_stuck) and filtering by wallet — 100k rows for one answer.
    const rows = await this.db.queryNamed<SummaryRow & { role: 'sender' | 'receiver' }>(
      'gateway_stuck_by_wallet',
      `(SELECT ${SUMMARY_COLUMNS}, 'sender' AS role FROM packet_flow f
         WHERE f.sender = $1 AND f.stuck_kind IS NOT NULL AND f.status IN ('sent', 'received') LIMIT $2)
       UNION ALL
       (SELECT ${SUMMARY_COLUMNS}, 'receiver' AS role FROM packet_flow f
         WHERE f.receiver = $1 AND f.sender IS DISTINCT FROM $1 AND f.stuck_kind IS NOT NULL AND f.status IN ('sent', 'received') LIMIT $2)`,
      [wallet, this.env.STUCK_LIST_MAX],
      preference,
    );
    // No stuck packet: the wallet leaves the index. The answer is current: a wallet whose stuck state changed in the
    // last READ_YOUR_WRITES_SECONDS (10 s) reads the primary, and the replica serves only while its lag is under
    // REPLICA_MAX_LAG_MS (5 s, checked every second).
    if (rows.length === 0) this.index.forget(wallet, mark);
    return rows
      .map((r) => {
        const row = toSummary(r);
        return cachedStuck(row, r.role, keyOf(row));
      })
      .sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, this.env.STUCK_LIST_MAX);
  }

  /** Invalidates the stuck sets of these wallets (their packets changed). */
  async invalidateWallets(wallets: Iterable<string>): Promise<void> {
    const unique = [...new Set(wallets)];
    this.index.add(unique);
    await this.db.markWritten(unique);
    await Promise.all(unique.map((w) => this.cache.invalidate(this.stuckKeyspace, w)));
  }

  /** One packet's lifecycle by its source identity. */
  detail(chainId: string, port: string, channel: string, sequence: string): Promise<PacketDetail> {
    // A valid uint64 PostgreSQL's bigint cannot hold names no packet Unstuck has: answered without asking it.
    if (BigInt(sequence) > MAX_STORED_SEQUENCE) return Promise.reject(ApiError.notFound(`no packet ${chainId}/${port}/${channel}/${sequence} has been seen`));
    return this.flights.do(JSON.stringify(['detail', chainId, port, channel, sequence]), () => this.loadDetail(chainId, port, channel, sequence)) as Promise<PacketDetail>;
  }

  private async loadDetail(chainId: string, port: string, channel: string, sequence: string): Promise<PacketDetail> {
    const [row] = await this.db.queryNamed<
      SummaryRow & {
        dst_port: string | null;
        memo: string | null;
        send_height: string | null;
        send_tx_hash: string | null;
        recv_height: string | null;
        recv_time: Date | null;
        recv_tx_hash: string | null;
        recv_relayer: string | null;
        ack_pending: boolean | null;
        ack_written_height: string | null;
        ack_written_time: Date | null;
        ack_height: string | null;
        ack_time: Date | null;
        ack_tx_hash: string | null;
        ack_relayer: string | null;
        ack_success: boolean | null;
        timeout_time: Date | null;
        timeout_tx_hash: string | null;
        timeout_relayer: string | null;
        relay_attempts: number;
        clear_time_ms: string | null;
      }
    >(
      'gateway_packet_detail',
      `SELECT ${SUMMARY_COLUMNS}, f.dst_port, f.memo, f.send_height::text AS send_height, f.send_tx_hash,
              f.recv_height::text AS recv_height, f.recv_time, f.recv_tx_hash, f.recv_relayer,
              f.ack_pending, f.ack_written_height::text AS ack_written_height, f.ack_written_time,
              f.ack_height::text AS ack_height, f.ack_time, f.ack_tx_hash, f.ack_relayer, f.ack_success,
              f.timeout_time, f.timeout_tx_hash, f.timeout_relayer, f.relay_attempts, f.clear_time_ms::text AS clear_time_ms
         FROM packet_keys k JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id
        WHERE k.src_chain_id = $1 AND k.src_port = $2 AND k.src_channel = $3 AND k.sequence = $4`,
      [chainId, port, channel, sequence],
      'replica',
    );
    if (!row) throw ApiError.notFound(`no packet ${chainId}/${port}/${channel}/${sequence} has been seen`);
    const relays = await this.db.queryNamed<{ kind: 'recv' | 'ack' | 'timeout'; chain_id: string; relayer: string; effected: boolean; tx_hash: string; height: string; block_time: Date }>(
      'gateway_packet_relays',
      `SELECT kind, chain_id, relayer, effected, tx_hash, height::text AS height, block_time FROM packet_relays
        WHERE src_chain_id = $1 AND src_port = $2 AND src_channel = $3 AND sequence = $4
        ORDER BY block_time, chain_id, tx_hash, msg_index`,
      [chainId, port, channel, sequence],
      'replica',
    );
    return {
      ...toSummary(row),
      dst_port: row.dst_port,
      memo: row.memo,
      send: { height: row.send_height, time: iso(row.send_time), tx_hash: row.send_tx_hash },
      recv: { height: row.recv_height, time: iso(row.recv_time), tx_hash: row.recv_tx_hash, relayer: row.recv_relayer },
      ack_written: {
        pending: row.recv_time !== null && row.ack_pending === true && row.ack_written_height === null,
        // Rows ingested before async acks were told apart count their receipt as the write.
        height: row.ack_written_height ?? (row.ack_pending === null ? row.recv_height : null),
        time: iso(row.ack_written_time ?? (row.ack_pending === null ? row.recv_time : null)),
      },
      ack: { height: row.ack_height, time: iso(row.ack_time), tx_hash: row.ack_tx_hash, relayer: row.ack_relayer, success: row.ack_success },
      timeout: { time: iso(row.timeout_time), tx_hash: row.timeout_tx_hash, relayer: row.timeout_relayer },
      relay_attempts: row.relay_attempts,
      clear_time_ms: row.clear_time_ms === null ? null : Number(row.clear_time_ms),
      relays: relays.map((r) => ({ ...r, block_time: r.block_time.toISOString() })),
    };
  }

  /**
   * Every stuck packet Unstuck knows, network-wide (operators, relayers): oldest stuck first, filtered by source
   * chain and channel, kind and age; keyset pagination on (stuck_since, id) with the snapshot in the cursor, over
   * the partial index of stuck packets. From the replica.
   */
  networkStuck(q: NetworkStuckQuery): Promise<Listing<PacketSummary & { age_seconds: number }>> {
    return this.flights.do(JSON.stringify(['network-stuck', q]), () => this.loadNetworkStuck(q)) as Promise<Listing<PacketSummary & { age_seconds: number }>>;
  }

  private async loadNetworkStuck(q: NetworkStuckQuery): Promise<Listing<PacketSummary & { age_seconds: number }>> {
    const scope = scopeOf('network-stuck', q.chain_id, q.channel, q.kind ?? undefined, q.min_age_seconds);
    const position = q.cursor ? this.cursors.decode(q.cursor, scope) : undefined;
    const snapshot = position?.s ?? new Date().toISOString();
    const params: unknown[] = [snapshot, position?.t ?? null, position?.id ?? null, q.limit + 1];
    const filters: string[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      filters.push(sql.replace('?', `$${params.length}`));
    };
    if (q.chain_id) add('f.src_chain_id = ?', q.chain_id);
    if (q.channel) add('f.src_channel = ?', q.channel);
    if (q.kind) add('f.stuck_kind = ?', q.kind);
    if (q.min_age_seconds !== undefined) add('f.send_time <= $1::timestamptz - make_interval(secs => ?::float8)', q.min_age_seconds);
    const rows = await this.db.queryNamed<SummaryRow & { stuck_since_us: string }>(
      // A prepared statement per combination of filters (its SQL differs with each).
      `gateway_network_stuck_${q.chain_id ? 'c' : ''}${q.channel ? 'h' : ''}${q.kind ? 'k' : ''}${q.min_age_seconds !== undefined ? 'a' : ''}`,
      `SELECT ${SUMMARY_COLUMNS}, to_char(f.stuck_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS stuck_since_us FROM packet_flow f
        WHERE f.stuck_kind IS NOT NULL AND f.stuck_since <= $1::timestamptz
          AND ($2::timestamptz IS NULL OR (f.stuck_since, f.id) > ($2::timestamptz, $3::bigint))${filters.map((f) => ` AND ${f}`).join('')}
        ORDER BY f.stuck_since, f.id LIMIT $4`,
      params,
      'replica',
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const now = Date.parse(snapshot);
    return {
      items: page.map((r) => ({ ...toSummary(r), age_seconds: r.send_time ? Math.max(0, Math.floor((now - r.send_time.getTime()) / 1000)) : 0 })),
      next_cursor: rows.length > q.limit && last ? this.cursors.encode({ t: last.stuck_since_us, id: last.id, s: snapshot }, scope) : null,
      snapshot_at: snapshot,
    };
  }

  /**
   * Packets newest first, optionally one wallet's: keyset pagination on (created_at, id) with the snapshot time
   * carried in the cursor, so rows that arrive while a client pages never shift the pages it has not read yet.
   */
  stream(q: StreamQuery): Promise<Listing<PacketSummary>> {
    return this.flights.do(JSON.stringify(['stream', q.wallet, q.chain_id, q.limit, q.cursor]), () => this.loadStream(q)) as Promise<Listing<PacketSummary>>;
  }

  private async loadStream(q: StreamQuery): Promise<Listing<PacketSummary>> {
    const scope = scopeOf('stream', q.wallet, q.chain_id);
    const position = q.cursor ? this.cursors.decode(q.cursor, scope) : undefined;
    const snapshot = position?.s ?? new Date().toISOString();
    const preference = q.wallet ? await this.db.preferenceFor(q.wallet) : 'replica';
    const params: unknown[] = [snapshot, position?.t ?? null, position?.id ?? null, q.limit + 1];
    const keyset = `f.created_at <= $1::timestamptz AND ($2::timestamptz IS NULL OR (f.created_at, f.id) < ($2::timestamptz, $3::bigint))`;
    let chainFilter = '';
    if (q.chain_id) {
      params.push(q.chain_id);
      chainFilter = ` AND f.src_chain_id = $${params.length}`;
    }
    let sql: string;
    if (q.wallet) {
      params.push(q.wallet);
      const w = `$${params.length}`;
      sql = `SELECT * FROM (
               (SELECT ${SUMMARY_COLUMNS} FROM packet_flow f WHERE f.sender = ${w} AND ${keyset}${chainFilter} ORDER BY f.created_at DESC, f.id DESC LIMIT $4)
               UNION
               (SELECT ${SUMMARY_COLUMNS} FROM packet_flow f WHERE f.receiver = ${w} AND ${keyset}${chainFilter} ORDER BY f.created_at DESC, f.id DESC LIMIT $4)
             ) u ORDER BY created_at DESC, id::bigint DESC LIMIT $4`;
    } else {
      sql = `SELECT ${SUMMARY_COLUMNS} FROM packet_flow f WHERE ${keyset}${chainFilter} ORDER BY f.created_at DESC, f.id DESC LIMIT $4`;
    }
    const rows = await this.db.queryNamed<SummaryRow>(`gateway_stream_${q.wallet ? 'wallet' : 'all'}_${q.chain_id ? 'chain' : 'any'}`, sql, params, preference);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toSummary),
      next_cursor: rows.length > q.limit && last ? this.cursors.encode({ t: last.created_at_us, id: last.id, s: snapshot }, scope) : null,
      snapshot_at: snapshot,
    };
  }
}

const keyOf = (p: Pick<PacketSummary, 'src_chain_id' | 'src_port' | 'src_channel' | 'sequence'>) =>
  `${p.src_chain_id}/${p.src_port}/${p.src_channel}/${p.sequence.padStart(20, '0')}`;

/** What a cursor is bound to: the listing and its filters (hashed: a cursor should not spell out a wallet). */
function scopeOf(...parts: Array<string | number | undefined>): string {
  return createHash('sha256').update(parts.map((p) => String(p ?? '')).join('\u0000')).digest('base64url').slice(0, 16);
}
/** An empty page has no last item to make a cursor from. */
const noCursor = (): never => {
  throw new Error('an empty stuck page has no next cursor');
};
const stuckScope = (q: StuckQuery) => scopeOf('stuck', q.wallet, q.chain_id, q.kind ?? undefined, q.min_age_seconds);

