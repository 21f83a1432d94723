import { Logger } from '@nestjs/common';
import type { Database } from '@unstuck/db';
import type { EventPublisher, OutgoingEvent } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import type { BlockDecoder } from './block-decoder';
import type { ChainConfig } from './chains-config';
import type { CometRpcClient } from './comet-rpc-client';
import type { CounterpartyDirectory } from './counterparty-directory';
import { compareBigInt, IbcChainState } from './ibc-state';
import type { PacketStore } from '../store/packet-store';

export interface ReconcilerOptions {
  /** Packets backfilled (or repaired) per channel per pass at most (each costs a tx_search and a block on each chain). */
  backfillPerChannel: number;
  /**
   * A packet held as pending is repaired only once it was sent this long ago: ingest may simply not have committed
   * the block that resolved it yet.
   */
  repairAfterMs: number;
  /** PacketCommitments page size, and pages per channel per pass at most. */
  pageSize: number;
  maxPages: number;
}

/** One channel as a pass saw it on its two chains. */
export interface ChannelBacklog {
  chainId: string;
  port: string;
  channel: string;
  counterpartyChainId: string;
  counterpartyChannel: string;
  /** Sequences whose commitment the source still holds. */
  pending: bigint[];
  /** Of those, the ones the destination has not received. */
  unreceived: bigint[];
  /** Pending sequences Unstuck did not know, backfilled from their transactions this pass. */
  backfilled: bigint[];
  /** Pending sequences whose send no transaction index could show (no tx index, pruned, sent at the block level). */
  unresolved: bigint[];
  /** Packets Unstuck held as pending that the chains had moved on (received, acknowledged, timed out), recorded from their transactions. */
  repaired: bigint[];
}

/** Ingest within this many blocks of a chain's head counts as caught up there. */
const CAUGHT_UP_BLOCKS = 20;

/** How long a packet whose repair found no transaction is left alone. */
const FRUITLESS_RETRY_MS = 3_600_000;

const m = {
  backlog: metric.gauge({ name: 'reconcile_backlog_size', help: 'packets whose commitment the source still holds, per channel (as Hermes reports backlog_size)', labelNames: ['chain_id', 'channel'] }),
  oldest: metric.gauge({ name: 'reconcile_backlog_oldest_sequence', help: 'the lowest sequence still committed on the source, per channel (0 when none)', labelNames: ['chain_id', 'channel'] }),
  unreceived: metric.gauge({ name: 'reconcile_unreceived_size', help: 'pending packets the destination has not received, per channel', labelNames: ['chain_id', 'channel'] }),
  backfilled: metric.counter({ name: 'reconcile_backfilled_total', help: 'packets found pending on chain that ingest had not seen, recorded from their transactions', labelNames: ['chain_id'] }),
  repaired: metric.counter({ name: 'reconcile_repaired_total', help: 'packets held as pending that the chains had moved on, recorded from their transactions, by what was found', labelNames: ['chain_id', 'found'] }),
  unresolved: metric.gauge({ name: 'reconcile_unresolved', help: 'pending packets whose send no transaction index shows (no tx index, pruned history, block-level sends)', labelNames: ['chain_id', 'channel'] }),
  passes: metric.counter({ name: 'reconcile_passes_total', help: 'reconciliation passes by outcome', labelNames: ['outcome'] }),
  age: metric.gauge({ name: 'reconcile_last_pass_timestamp_seconds', help: 'when the last reconciliation pass ended (age = now − this)' }),
  queries: metric.counter({ name: 'reconcile_queries_total', help: 'chain queries the reconciler made, by chain and kind', labelNames: ['chain_id', 'kind'] }),
};

/**
 * Finds every packet pending on the channels between followed chains from the chains' own state, as Hermes'
 * `query packet pending` does, continuously: PacketCommitments on the source (every page), UnreceivedPackets on the
 * destination for those sequences. A pending packet Unstuck has not seen — sent before ingest's start height, or in
 * a block whose results ingest could not read — is found by its transaction (`tx_search` for its `send_packet`,
 * and for its `recv_packet` when the destination received it), and that block is parsed by ingest's own decoder:
 * the same events with the same message ids, published and stored as ingest would have, so consumers and statistics
 * never count it twice. Runs on one replica (packet-ingest's `reconciler` lease).
 */
export class Reconciler {
  private readonly logger = new Logger('Reconciler');
  /** This pass's view of each chain: its endpoints' earliest height, and ingest's cursor there when caught up. */
  private readonly progress = new Map<string, Promise<{ earliest: number; caughtUpCursor: number | undefined }>>();
  /** Packets a repair found no transaction for, and when: not searched again before FRUITLESS_RETRY_MS. */
  private readonly fruitless = new Map<string, number>();

  constructor(
    private readonly chains: readonly ChainConfig[],
    private readonly rpcFor: (chainId: string) => CometRpcClient,
    private readonly directory: CounterpartyDirectory,
    private readonly db: Database,
    private readonly store: PacketStore,
    private readonly decoder: BlockDecoder,
    private readonly publisher: EventPublisher,
    private readonly options: ReconcilerOptions,
  ) {}

  /** The channels to reconcile: every channel of a followed chain whose counterparty is followed too. */
  channels(): Array<{ chainId: string; port: string; channel: string; counterpartyChainId: string }> {
    const followed = new Set(this.chains.map((c) => c.chain_id));
    const out: Array<{ chainId: string; port: string; channel: string; counterpartyChainId: string }> = [];
    for (const [key, other] of this.directory.entries()) {
      const [chainId, port, channel] = key.split('/') as [string, string, string];
      if (followed.has(chainId) && followed.has(other) && port === 'transfer') out.push({ chainId, port, channel, counterpartyChainId: other });
    }
    for (const chainId of followed) {
      for (const [key, other] of this.directory.learnedFor(chainId)) {
        const [, port, channel] = key.split('/') as [string, string, string];
        if (followed.has(other) && port === 'transfer' && !out.some((c) => c.chainId === chainId && c.channel === channel)) out.push({ chainId, port, channel, counterpartyChainId: other });
      }
    }
    return out;
  }

  /** One pass over every channel; a channel that fails is logged and the others go on. */
  async pass(): Promise<ChannelBacklog[]> {
    // Each chain's head and ingest's cursor there, asked once a pass, whatever the number of its channels.
    this.progress.clear();
    const results: ChannelBacklog[] = [];
    let failed = 0;
    for (const c of this.channels()) {
      try {
        results.push(await this.reconcile(c));
      } catch (e) {
        failed += 1;
        this.logger.warn(`${c.chainId} ${c.port}/${c.channel}: ${(e as Error).message}`);
      }
    }
    m.passes.inc({ outcome: failed ? 'partial' : 'ok' });
    m.age.set(Date.now() / 1000);
    return results;
  }

  async reconcile(c: { chainId: string; port: string; channel: string; counterpartyChainId: string }): Promise<ChannelBacklog> {
    const src = new IbcChainState(this.rpcFor(c.chainId));
    const dst = new IbcChainState(this.rpcFor(c.counterpartyChainId));
    const end = await src.channel(c.port, c.channel);
    m.queries.inc({ chain_id: c.chainId, kind: 'channel' });
    // The light clients under both ends (what a relay needs Active), for the channel's pending view.
    const [clientId, counterpartyClientId] = await Promise.all([src.channelClientId(c.port, c.channel), dst.channelClientId(end.counterparty.port, end.counterparty.channel)]);
    const [clientStatus, counterpartyClientStatus] = await Promise.all([src.clientStatus(clientId), dst.clientStatus(counterpartyClientId)]);
    m.queries.inc({ chain_id: c.chainId, kind: 'client' }, 2);
    m.queries.inc({ chain_id: c.counterpartyChainId, kind: 'client' }, 2);
    const { sequences: pending, pages } = await src.packetCommitments(c.port, c.channel, this.options.pageSize, this.options.maxPages);
    m.queries.inc({ chain_id: c.chainId, kind: 'packet_commitments' }, pages);
    const unreceived = await dst.unreceivedPackets(end.counterparty.port, end.counterparty.channel, pending);
    m.queries.inc({ chain_id: c.counterpartyChainId, kind: 'unreceived_packets' });
    const labels = { chain_id: c.chainId, channel: c.channel };
    m.backlog.set(labels, pending.length);
    m.oldest.set(labels, pending.length ? Number(pending[0]) : 0);
    m.unreceived.set(labels, unreceived.length);

    const ascending = [...unreceived].sort(compareBigInt);
    await this.db.query(
      `INSERT INTO channel_pending (chain_id, port, channel, counterparty_chain_id, counterparty_channel, channel_state, ordering, client_id, client_status,
                                    counterparty_client_status, pending_count, unreceived_count, oldest_pending_sequence, oldest_unreceived_sequence, unreceived_sample, reconciled_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::numeric[], now())
       ON CONFLICT (chain_id, port, channel) DO UPDATE SET counterparty_chain_id = EXCLUDED.counterparty_chain_id, counterparty_channel = EXCLUDED.counterparty_channel,
         channel_state = EXCLUDED.channel_state, ordering = EXCLUDED.ordering, client_id = EXCLUDED.client_id, client_status = EXCLUDED.client_status,
         counterparty_client_status = EXCLUDED.counterparty_client_status, pending_count = EXCLUDED.pending_count, unreceived_count = EXCLUDED.unreceived_count,
         oldest_pending_sequence = EXCLUDED.oldest_pending_sequence, oldest_unreceived_sequence = EXCLUDED.oldest_unreceived_sequence,
         unreceived_sample = EXCLUDED.unreceived_sample, reconciled_at = now()`,
      [
        c.chainId, c.port, c.channel, c.counterpartyChainId, end.counterparty.channel, end.state, end.ordering, clientId, clientStatus, counterpartyClientStatus,
        pending.length, unreceived.length, pending[0]?.toString() ?? null, ascending[0]?.toString() ?? null, ascending.slice(0, 100).map(String),
      ],
    );

    const notReceived = new Set(unreceived.map(String));
    const backfilled: bigint[] = [];
    const unresolved: bigint[] = [];
    // Only where ingest has caught up: a packet above its cursor is simply not read yet, and ingest will read it.
    const [srcCursor, dstCursor] = await Promise.all([this.caughtUpCursor(c.chainId), this.caughtUpCursor(c.counterpartyChainId)]);
    if (srcCursor === undefined) {
      m.unresolved.set(labels, 0);
      return { ...c, counterpartyChannel: end.counterparty.channel, pending, unreceived, backfilled, unresolved, repaired: [] };
    }
    const unknown = await this.unknownOf(c, pending);
    for (const sequence of unknown.slice(0, this.options.backfillPerChannel)) {
      const found = await this.backfill(c, end.counterparty, sequence, !notReceived.has(String(sequence)), srcCursor, dstCursor);
      if (found === 'ahead') continue;
      (found ? backfilled : unresolved).push(sequence);
    }
    if (backfilled.length) {
      m.backfilled.inc({ chain_id: c.chainId }, backfilled.length);
      this.logger.log(`${c.chainId} ${c.port}/${c.channel}: ${backfilled.length} pending packet(s) ingest had not seen recorded from their transactions (${backfilled.slice(0, 5).join(', ')}${backfilled.length > 5 ? ', …' : ''})`);
    }
    m.unresolved.set(labels, unresolved.length);
    const repaired = dstCursor === undefined ? [] : await this.repair(c, end.counterparty, pending, notReceived, { src: srcCursor, dst: dstCursor });
    return { ...c, counterpartyChannel: end.counterparty.channel, pending, unreceived, backfilled, unresolved, repaired };
  }

  /**
   * Packets the tables hold as pending that the chains have moved on: no commitment left on the source (acknowledged
   * or timed out), or received on the destination while held as sent. Their events come from the transactions that
   * moved them (acknowledge_packet, timeout_packet, recv_packet), decoded as ingest decodes them: ingest's own events
   * with ingest's message ids, so a packet is repaired once and a later event for it changes nothing.
   */
  private async repair(
    c: { chainId: string; port: string; channel: string; counterpartyChainId: string },
    counterparty: { port: string; channel: string },
    pending: readonly bigint[],
    notReceived: ReadonlySet<string>,
    cursors: { src: number; dst: number },
  ): Promise<bigint[]> {
    // Only packets sent at heights the source's endpoints still hold: below, no transaction can be found again.
    const { earliest } = await this.progressOf(c.chainId);
    const now = Date.now();
    for (const [k, at] of this.fruitless) if (now - at > FRUITLESS_RETRY_MS) this.fruitless.delete(k);
    const stale = (
      await this.db.query<{ sequence: string; status: 'sent' | 'received' }>(
        `SELECT k.sequence::text AS sequence, f.status FROM packet_keys k JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id
          WHERE k.src_chain_id = $1 AND k.src_port = $2 AND k.src_channel = $3 AND f.status IN ('sent', 'received')
            AND coalesce(f.send_time, k.created_at) < now() - make_interval(secs => $4::float8 / 1000) AND f.send_height >= $8
            AND (NOT (k.sequence = ANY($5::bigint[])) OR (f.status = 'sent' AND NOT (k.sequence::text = ANY($6::text[]))))
          ORDER BY k.sequence DESC LIMIT $7`,
        [c.chainId, c.port, c.channel, this.options.repairAfterMs, pending.map(String), [...notReceived], this.options.backfillPerChannel + this.fruitless.size, earliest],
      )
    )
      .filter((r) => !this.fruitless.has(`${c.chainId}/${c.port}/${c.channel}/${r.sequence}`))
      .slice(0, this.options.backfillPerChannel);
    const pendingSet = new Set(pending.map(String));
    const repaired: bigint[] = [];
    for (const row of stale) {
      const sequence = BigInt(row.sequence);
      const events: OutgoingEvent[] = [];
      let ahead = false;
      if (row.status === 'sent' && !notReceived.has(row.sequence)) {
        const query = recvQuery(c.channel, counterparty.channel, sequence);
        const receipt = await this.eventsOf(c.counterpartyChainId, query, c, sequence, ['packet.received', 'packet.ack_written'], cursors.dst);
        if (receipt === 'ahead') ahead = true;
        else events.push(...receipt);
      }
      let found = events.length ? 'received' : '';
      if (!pendingSet.has(row.sequence)) {
        const acked = await this.eventsOf(c.chainId, `acknowledge_packet.packet_src_channel='${c.channel}' AND acknowledge_packet.packet_sequence='${sequence}'`, c, sequence, ['packet.acknowledged'], cursors.src);
        const closing =
          acked === 'ahead' || acked.length
            ? acked
            : await this.eventsOf(c.chainId, `timeout_packet.packet_src_channel='${c.channel}' AND timeout_packet.packet_sequence='${sequence}'`, c, sequence, ['packet.timed_out'], cursors.src);
        if (closing === 'ahead') ahead = true;
        else {
          events.push(...closing);
          if (closing.length) found = closing[0]!.event === 'packet.acknowledged' ? 'acknowledged' : 'timed_out';
        }
      }
      // Moved on above ingest's cursor: ingest will read it itself.
      if (ahead) continue;
      if (!events.length) {
        // Nothing shows how it moved on (its transaction pruned, or a block-level event): not asked again for an hour.
        if (this.fruitless.size < 100_000) this.fruitless.set(`${c.chainId}/${c.port}/${c.channel}/${row.sequence}`, Date.now());
        continue;
      }
      await this.publisher.publishBatch(events, { checked: true });
      await this.store.commit(events);
      m.repaired.inc({ chain_id: c.chainId, found });
      repaired.push(sequence);
    }
    if (repaired.length) this.logger.log(`${c.chainId} ${c.port}/${c.channel}: ${repaired.length} packet(s) held as pending that the chains had moved on, recorded from their transactions (${repaired.slice(0, 5).join(', ')}${repaired.length > 5 ? ', …' : ''})`);
    return repaired;
  }

  /**
   * Ingest's committed height on a chain when it is within CAUGHT_UP_BLOCKS of the chain's head, else undefined
   * (catching up, or an outage: what it has not read yet it will read; reconciling meanwhile would only repeat it).
   */
  private async caughtUpCursor(chainId: string): Promise<number | undefined> {
    return (await this.progressOf(chainId)).caughtUpCursor;
  }

  /** A chain's /status and ingest's cursor there, once per pass (a failure is not kept). */
  private progressOf(chainId: string): Promise<{ earliest: number; caughtUpCursor: number | undefined }> {
    let known = this.progress.get(chainId);
    if (!known) {
      known = Promise.all([this.rpcFor(chainId).status(), this.store.cursor(chainId)]).then(([status, cursor]) => ({
        earliest: status.earliestHeight,
        caughtUpCursor: cursor !== undefined && status.latestHeight - Number(cursor) <= CAUGHT_UP_BLOCKS ? Number(cursor) : undefined,
      }));
      known.catch(() => this.progress.delete(chainId));
      this.progress.set(chainId, known);
    }
    return known;
  }

  /**
   * Of the pending sequences, those the packet tables do not hold — below the highest one they do hold (when they
   * hold any): the newest packets of a channel are most likely just not committed by ingest yet.
   */
  private async unknownOf(c: { chainId: string; port: string; channel: string }, sequences: readonly bigint[]): Promise<bigint[]> {
    if (sequences.length === 0) return [];
    const rows = await this.db.query<{ sequence: string }>(
      `WITH top AS (SELECT max(k.sequence) AS s FROM packet_keys k WHERE k.src_chain_id = $1 AND k.src_port = $2 AND k.src_channel = $3)
       SELECT w.s::text AS sequence FROM unnest($4::bigint[]) AS w(s), top
        WHERE (top.s IS NULL OR w.s < top.s)
          AND NOT EXISTS (SELECT 1 FROM packet_keys k WHERE k.src_chain_id = $1 AND k.src_port = $2 AND k.src_channel = $3 AND k.sequence = w.s)`,
      [c.chainId, c.port, c.channel, sequences.map(String)],
    );
    return rows.map((r) => BigInt(r.sequence));
  }

  /**
   * The packet's send (and receipt, when the destination received it) from their transactions: the blocks holding
   * them are decoded as ingest decodes them and only this packet's events kept. False when no index shows the send.
   */
  private async backfill(
    c: { chainId: string; port: string; channel: string; counterpartyChainId: string },
    counterparty: { port: string; channel: string },
    sequence: bigint,
    received: boolean,
    srcCursor: number,
    dstCursor: number | undefined,
  ): Promise<boolean | 'ahead'> {
    const sent = await this.eventsOf(c.chainId, `send_packet.packet_src_channel='${c.channel}' AND send_packet.packet_sequence='${sequence}'`, c, sequence, ['packet.sent'], srcCursor);
    if (sent === 'ahead') return 'ahead';
    if (!sent.length) return false;
    const events = [...sent];
    if (received && dstCursor !== undefined) {
      const query = recvQuery(c.channel, counterparty.channel, sequence);
      const receipt = await this.eventsOf(c.counterpartyChainId, query, c, sequence, ['packet.received', 'packet.ack_written'], dstCursor);
      if (receipt !== 'ahead') events.push(...receipt);
    }
    // Published first (the same message ids ingest gives them: a repeat is dropped), then stored without moving any cursor.
    await this.publisher.publishBatch(events, { checked: true });
    await this.store.commit(events);
    return true;
  }

  /**
   * The packet's events of these kinds in the transactions `query` finds, decoded as ingest decodes their blocks;
   * 'ahead' when they are above ingest's cursor (`below`): ingest will read them itself.
   */
  private async eventsOf(chainId: string, query: string, c: { chainId: string; port: string; channel: string }, sequence: bigint, kinds: readonly string[], below = Infinity): Promise<OutgoingEvent[] | 'ahead'> {
    const rpc = this.rpcFor(chainId);
    const found = await rpc.txSearch(query, 5);
    m.queries.inc({ chain_id: chainId, kind: 'tx_search' });
    if (!found?.length) return [];
    if (found.every((t) => t.height > below)) return 'ahead';
    const heights = [...new Set(found.filter((t) => t.height <= below).map((t) => t.height))];
    const answer = await rpc.blocksAnswer(heights);
    m.queries.inc({ chain_id: chainId, kind: 'block' }, heights.length);
    const batch = await this.decoder.decode({ chainId, answer, base64: undefined, learned: this.directory.learnedFor(chainId) });
    return batch.events.filter((e) => {
      if (!kinds.includes(e.event)) return false;
      const p = (e.payload as { packet?: { src_chain_id: string; src_port: string; src_channel: string; sequence: string } }).packet;
      return p?.src_chain_id === c.chainId && p.src_port === c.port && p.src_channel === c.channel && p.sequence === String(sequence);
    });
  }
}

/** The CometBFT event query for a packet's receipt on its destination. */
const recvQuery = (srcChannel: string, dstChannel: string, sequence: bigint) =>
  `recv_packet.packet_dst_channel='${dstChannel}' AND recv_packet.packet_src_channel='${srcChannel}' AND recv_packet.packet_sequence='${sequence}'`;
