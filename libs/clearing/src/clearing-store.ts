import { packetKey, type ClearingOperationUpdatedV1, type ClearingState, type PacketId } from '@unstuck/contracts';
import { rowsOf, type Database, type ReadPreference } from '@unstuck/db';
import type { CoinReturn } from './payment-check';

export type StuckKind = 'awaiting_recv' | 'awaiting_ack' | 'timeout_pending';
export type PacketClearState = 'pending' | 'relayed' | 'cleared' | 'failed';

/** A packet offered for clearing, as the packet tables know it. */
export interface CandidatePacket {
  packet: PacketId;
  sender: string | null;
  receiver: string | null;
  dstChainId: string | null;
  dstPort: string | null;
  dstChannel: string | null;
  /** The packet's timeout: a height on the destination (revision number and height, 0/0 for none) and a time in ns (0 for none). */
  timeoutHeight: { revisionNumber: bigint; revisionHeight: bigint };
  timeoutTimestampNs: bigint;
  stuckKind: StuckKind | null;
  status: string;
  /** Received, but the destination has not written its acknowledgement yet (async ack): nothing to relay back. */
  ackPending: boolean;
  /** An operation that is already clearing it (or holds an unexpired quote for it). */
  activeOperation: string | null;
}

/** Some of a quote's packets are held by another live operation (the database refused to hold them twice). */
export class PacketsHeldError extends Error {
  constructor(readonly packets: PacketId[]) {
    super(`${packets.map((p) => packetKey(p)).join(', ')} ${packets.length === 1 ? 'is' : 'are'} already part of another clearing operation`);
    this.name = 'PacketsHeldError';
  }
}

export interface NewOperation {
  wallet: string;
  paymentChainId: string;
  paymentAddress: string;
  denom: string;
  base: bigint;
  perPacket: bigint;
  gas: bigint;
  total: bigint;
  tokenHash: string;
  expiresAt: Date;
  packets: ReadonlyArray<{ packet: PacketId; stuckKind: StuckKind }>;
}

/** One operation as its owner sees it (GET /clearing/{token}) and as its events carry it. */
export interface OperationView {
  operation_id: string;
  token_hash: string;
  wallet: string;
  state: ClearingState;
  version: number;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  completed_at: string | null;
  payment: { chain_id: string; address: string; denom: string; amount: string; memo_prefix: 'CLR-' };
  fee: { base: string; per_packet: string; gas: string; total: string; denom: string };
  progress: { total: number; cleared: number };
  packets: Array<{ packet: PacketId; stuck_kind: StuckKind; state: PacketClearState; tx_hash?: string }>;
  paid: { tx_hash: string; amount: string; excess: string; detected_by: 'user' | 'ingest'; payer: string } | null;
  refunds: Array<{ reason: RefundReason; amount: string; denom: string; status: string; tx_hash: string | null }>;
  error: string | null;
}

/**
 * Why money goes back: the operation failed (`failure`), the payment was more than quoted (`excess`), or the
 * payment reached us but was refused (`rejected`: underpaid, after the quote expired, or for an operation already paid).
 */
export type RefundReason = 'failure' | 'excess' | 'rejected';

export interface PaymentRecord {
  /** Null for a payment that names no known operation. */
  operationId: string | null;
  chainId: string;
  txHash: string;
  height: string;
  payer: string;
  recipient: string;
  denom: string;
  amount: bigint;
  excess: bigint;
  memo: string;
  detectedBy: 'user' | 'ingest';
  /** Every coin the transaction sent to the service address (stored with the payment). */
  received: readonly CoinReturn[];
}

export interface RefundRow {
  id: string;
  operation_id: string | null;
  payment_id: string;
  /** The payment's transaction (a refund's memo names it when there is no operation). */
  payment_tx_hash: string;
  reason: RefundReason;
  chain_id: string;
  recipient: string;
  denom: string;
  amount: string;
  refund_status: 'pending' | 'broadcast' | 'confirmed' | 'failed';
  tx_hash: string | null;
  signed_tx: Buffer | null;
}

const ACTIVE = `o.status IN ('paid', 'clearing') OR (o.status = 'quoted' AND o.expires_at > now())`;

/**
 * Every read and write of the clearing tables. State changes bump `version` in the same statement that makes
 * them, so each published update has a version consumers can order and deduplicate by.
 */
export class ClearingStore {
  constructor(private readonly db: Database) {}

  /**
   * Sequences on one source channel below `below` that were received and whose acknowledgement has not come back:
   * on an ORDERED channel they must be acknowledged first (ibc-go takes acknowledgements in order). At most 100.
   */
  async awaitingAckBelow(chainId: string, port: string, channel: string, below: bigint): Promise<bigint[]> {
    const rows = await this.db.query<{ sequence: string }>(
      `SELECT k.sequence::text AS sequence FROM packet_keys k JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id
        WHERE k.src_chain_id = $1 AND k.src_port = $2 AND k.src_channel = $3 AND k.sequence < $4 AND f.status = 'received'
        ORDER BY k.sequence LIMIT 100`,
      [chainId, port, channel, below.toString()],
    );
    return rows.map((r) => BigInt(r.sequence));
  }

  /** The packets' rows and whether some live operation already holds them. */
  async candidates(ids: readonly PacketId[]): Promise<CandidatePacket[]> {
    const rows = await this.db.query<{
      src_chain_id: string; src_port: string; src_channel: string; sequence: string;
      sender: string | null; receiver: string | null; dst_chain_id: string | null; stuck_kind: StuckKind | null; status: string; active: string | null;
      ack_pending: boolean; dst_port: string | null; dst_channel: string | null; trn: string | null; trh: string | null; tts: string | null;
    }>(
      `SELECT k.src_chain_id, k.src_port, k.src_channel, k.sequence::text AS sequence,
              f.sender, f.receiver, f.dst_chain_id, f.stuck_kind, f.status, f.dst_port, f.dst_channel,
              f.timeout_revision_number::text AS trn, f.timeout_revision_height::text AS trh, f.timeout_timestamp_ns::text AS tts,
              (f.ack_pending IS TRUE AND f.ack_written_height IS NULL) AS ack_pending,
              (SELECT o.id::text FROM clearing_operation_packets p JOIN clearing_operations o ON o.id = p.operation_id
                WHERE p.src_chain_id = k.src_chain_id AND p.src_port = k.src_port AND p.src_channel = k.src_channel
                  AND p.sequence = k.sequence AND p.state <> 'cleared' AND (${ACTIVE}) LIMIT 1) AS active
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS w(c, po, ch, s)
         JOIN packet_keys k ON k.src_chain_id = w.c AND k.src_port = w.po AND k.src_channel = w.ch AND k.sequence = w.s
         JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id`,
      packetColumns(ids),
    );
    return rows.map((r) => ({
      packet: { src_chain_id: r.src_chain_id, src_port: r.src_port, src_channel: r.src_channel, sequence: r.sequence },
      sender: r.sender,
      receiver: r.receiver,
      dstChainId: r.dst_chain_id,
      dstPort: r.dst_port,
      dstChannel: r.dst_channel,
      timeoutHeight: { revisionNumber: BigInt(r.trn ?? 0), revisionHeight: BigInt(r.trh ?? 0) },
      timeoutTimestampNs: BigInt(r.tts ?? 0),
      stuckKind: r.stuck_kind,
      status: r.status,
      ackPending: r.ack_pending,
      activeOperation: r.active,
    }));
  }

  async createOperation(op: NewOperation): Promise<string> {
    return this.db.write(async (m) => {
      const [row] = (await m.query(
        `INSERT INTO clearing_operations (wallet_address, chain_id, payment_chain_id, status, packet_count, fee_denom, base_fee, per_packet_fee,
                                          gas_fee, total_fee, payment_address, expires_at)
         VALUES ($1, $2, $2, 'quoted', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id::text AS id`,
        [op.wallet, op.paymentChainId, op.packets.length, op.denom, op.base.toString(), op.perPacket.toString(), op.gas.toString(), op.total.toString(), op.paymentAddress, op.expiresAt],
      )) as Array<{ id: string }>;
      const id = row!.id;
      await m.query(
        `INSERT INTO clearing_operation_packets (operation_id, src_chain_id, src_port, src_channel, sequence, stuck_kind)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])`,
        [id, ...packetColumns(op.packets.map((p) => p.packet)), op.packets.map((p) => p.stuckKind)],
      );
      await m.query(`INSERT INTO clearing_tokens (operation_id, token_hash, wallet_address, expires_at) VALUES ($1, $2, $3, $4)`, [id, op.tokenHash, op.wallet, op.expiresAt]);
      // The database decides who holds each packet: a hold is taken over only once its holder's hold has lapsed
      // (quote expired, operation ended). ON CONFLICT judges the row as last committed, after waiting for a
      // concurrent quote's transaction, so of any number of quotes at once exactly one holds the packet.
      const held = rowsOf<{ src_chain_id: string; src_port: string; src_channel: string; sequence: string }>(
        await m.query(
          `INSERT INTO clearing_packet_holds AS h (src_chain_id, src_port, src_channel, sequence, operation_id, live_until)
           SELECT c, po, ch, s, $1, $6 FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS w(c, po, ch, s)
            ORDER BY c, po, ch, s
           ON CONFLICT (src_chain_id, src_port, src_channel, sequence) DO UPDATE
              SET operation_id = EXCLUDED.operation_id, live_until = EXCLUDED.live_until, held_since = now()
            WHERE h.live_until <= now()
           RETURNING h.src_chain_id, h.src_port, h.src_channel, h.sequence::text AS sequence`,
          [id, ...packetColumns(op.packets.map((p) => p.packet)), op.expiresAt],
        ),
      );
      if (held.length < op.packets.length) {
        const got = new Set(held.map((r) => packetKey(r)));
        throw new PacketsHeldError(op.packets.map((p) => p.packet).filter((p) => !got.has(packetKey(p))));
      }
      return id;
    });
  }

  /** Lets go of an operation's packets once it ended (completed, failed, refunded): they may be quoted again. */
  private static readonly RELEASE = `UPDATE clearing_packet_holds SET live_until = '-infinity' WHERE operation_id = $1`;

  /** The operation a token names (by the token's hash), from the primary: the answer must be current. */
  async operationIdByTokenHash(tokenHash: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ id: string }>(`SELECT operation_id::text AS id FROM clearing_tokens WHERE token_hash = $1`, [tokenHash]);
    return row?.id;
  }

  /** A transaction recorded before, accepted (no rejection) or refused (with its refunds). */
  async paymentByTx(
    chainId: string,
    txHash: string,
  ): Promise<{ operation_id: string | null; rejection: { code: string; message: string; refund_ids: string[] } | null; refund_ids: string[] } | undefined> {
    const [row] = await this.db.query<{ operation_id: string | null; rejection_code: string | null; rejection_message: string | null; refund_ids: string[] }>(
      `SELECT p.operation_id::text AS operation_id, p.rejection_code, p.rejection_message,
              coalesce((SELECT array_agg(r.id::text ORDER BY r.created_at) FROM refunds r WHERE r.payment_id = p.id AND r.reason = 'rejected'), '{}') AS refund_ids
         FROM payments p WHERE p.chain_id = $1 AND p.tx_hash = $2`,
      [chainId, txHash],
    );
    if (!row) return undefined;
    return {
      operation_id: row.operation_id,
      rejection: row.rejection_code ? { code: row.rejection_code, message: row.rejection_message ?? '', refund_ids: row.refund_ids } : null,
      refund_ids: row.refund_ids,
    };
  }

  /**
   * Records a payment that reached the service but was refused, with why, and a refund (reason `rejected`) of each
   * coin in `returns` to the account it came from, in one transaction. Returns the refunds' ids; a second call for
   * the same transaction changes nothing and returns the same refunds.
   */
  async recordRefusedPayment(p: PaymentRecord, rejection: { code: string; message: string }, returns: readonly CoinReturn[]): Promise<string[]> {
    return this.db.write(async (m) => {
      await m.query(
        `INSERT INTO payments (operation_id, chain_id, tx_hash, height, payer, recipient, denom, amount, excess_amount, memo, detected_by, rejection_code, rejection_message, received)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13) ON CONFLICT (chain_id, tx_hash) DO NOTHING`,
        [p.operationId, p.chainId, p.txHash, p.height, p.payer, p.recipient, p.denom, p.amount.toString(), p.memo, p.detectedBy, rejection.code, rejection.message, receivedJson(p.received)],
      );
      const [pay] = (await m.query(`SELECT id, operation_id::text AS operation_id, rejection_code FROM payments WHERE chain_id = $1 AND tx_hash = $2`, [p.chainId, p.txHash])) as Array<{
        id: string;
        operation_id: string | null;
        rejection_code: string | null;
      }>;
      if (!pay?.rejection_code) throw new Error(`transaction ${p.txHash} on ${p.chainId} was accepted as a payment before; it cannot be refused now`);
      return ClearingStore.insertReturns(m, pay.id, pay.operation_id, p.chainId, returns);
    });
  }

  /** `rejected` refunds of coins that cannot pay, one per recipient and denom (the unique constraint makes a repeat a no-op); their ids. */
  private static async insertReturns(
    m: { query: (sql: string, params?: unknown[]) => Promise<unknown> },
    paymentId: string,
    operationId: string | null,
    chainId: string,
    returns: readonly CoinReturn[],
  ): Promise<string[]> {
    if (returns.length > 0) {
      await m.query(
        `INSERT INTO refunds (operation_id, payment_id, reason, chain_id, recipient, denom, amount)
         SELECT $1, $2, 'rejected', $3, r, d, a FROM unnest($4::text[], $5::text[], $6::numeric[]) AS w(r, d, a)
         ON CONFLICT (payment_id, reason, recipient, denom) DO NOTHING`,
        [operationId, paymentId, chainId, returns.map((r) => r.to), returns.map((r) => r.denom), returns.map((r) => r.amount.toString())],
      );
    }
    const rows = (await m.query(`SELECT id::text AS id FROM refunds WHERE payment_id = $1 AND reason = 'rejected' ORDER BY created_at, id`, [paymentId])) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /**
   * Records a verified payment: the payment row (unique per chain and tx hash), the token used, the operation paid.
   * Returns false when the operation was no longer waiting for a payment (another verification won the race).
   */
  async recordPayment(p: PaymentRecord & { operationId: string }, returns: readonly CoinReturn[]): Promise<{ outcome: 'recorded' | 'not_waiting' | 'packets_taken'; refundIds: string[] }> {
    return this.db.write(async (m) => {
      const [op] = (await m.query(`SELECT status, packet_count FROM clearing_operations WHERE id = $1 FOR UPDATE`, [p.operationId])) as Array<{
        status: ClearingState;
        packet_count: number;
      }>;
      if (!op || (op.status !== 'quoted' && op.status !== 'expired')) return { outcome: 'not_waiting', refundIds: [] };
      // A quote paid in time but verified after it expired may have lost its packets to another operation: paid
      // only if it still holds every one (rows locked: a quote cannot take them over meanwhile).
      const holds = rowsOf<{ operation_id: string }>(
        await m.query(
          `SELECT h.operation_id::text AS operation_id FROM clearing_operation_packets p
             JOIN clearing_packet_holds h USING (src_chain_id, src_port, src_channel, sequence)
            WHERE p.operation_id = $1 ORDER BY h.src_chain_id, h.src_port, h.src_channel, h.sequence FOR UPDATE OF h`,
          [p.operationId],
        ),
      );
      if (holds.length < op.packet_count || holds.some((h) => h.operation_id !== p.operationId)) return { outcome: 'packets_taken', refundIds: [] };
      const inserted = (await m.query(
        `INSERT INTO payments (operation_id, chain_id, tx_hash, height, payer, recipient, denom, amount, excess_amount, memo, detected_by, received)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (chain_id, tx_hash) DO NOTHING RETURNING id`,
        [p.operationId, p.chainId, p.txHash, p.height, p.payer, p.recipient, p.denom, p.amount.toString(), p.excess.toString(), p.memo, p.detectedBy, receivedJson(p.received)],
      )) as Array<{ id: string }>;
      if (inserted.length === 0) return { outcome: 'not_waiting', refundIds: [] };
      // Coins in other denoms sent along cannot pay: they go back, decided in the same transaction as the payment.
      const refundIds = returns.length ? await ClearingStore.insertReturns(m, inserted[0]!.id, p.operationId, p.chainId, returns) : [];
      await m.query(`UPDATE clearing_packet_holds SET live_until = 'infinity' WHERE operation_id = $1`, [p.operationId]);
      await m.query(`UPDATE clearing_tokens SET used_at = now() WHERE operation_id = $1 AND used_at IS NULL`, [p.operationId]);
      await m.query(
        `UPDATE clearing_operations SET status = 'paid', version = version + 1, payment_tx_hash = $2, updated_at = now() WHERE id = $1`,
        [p.operationId, p.txHash],
      );
      return { outcome: 'recorded', refundIds };
    });
  }

  /**
   * Moves an operation from one of `from` to `to`. Returns the state it left, or undefined when it was in none of
   * `from` (someone else moved it).
   */
  async transition(id: string, from: readonly ClearingState[], to: ClearingState, error?: string): Promise<ClearingState | undefined> {
    const done = to === 'completed' || to === 'failed';
    const rows = rowsOf<{ previous: ClearingState }>(
      await this.db.query(
        `WITH prev AS (SELECT id, status FROM clearing_operations WHERE id = $1 AND status = ANY($2::text[]) FOR UPDATE),
              released AS (UPDATE clearing_packet_holds SET live_until = '-infinity'
                            WHERE operation_id = $1 AND $3 IN ('completed', 'failed', 'refunded') AND EXISTS (SELECT 1 FROM prev))
         UPDATE clearing_operations o SET status = $3, version = version + 1, updated_at = now(),
                error = coalesce($4, error),
                success = CASE WHEN $3 = 'completed' THEN true WHEN $3 IN ('failed', 'refunded', 'expired') THEN false ELSE success END,
                completed_at = CASE WHEN $5 THEN now() ELSE completed_at END
           FROM prev WHERE o.id = prev.id RETURNING prev.status AS previous`,
        [id, from, to, error ?? null, done],
      ),
    );
    return rows[0]?.previous;
  }

  /** Quotes past their expiry with no payment become `expired`; returns their ids. */
  async expireQuotes(): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        // Their holds lapse with them (they would at live_until anyway; an operator who moved expires_at sees the same).
        `WITH expired AS (
           UPDATE clearing_operations SET status = 'expired', version = version + 1, updated_at = now(), success = false
            WHERE status = 'quoted' AND expires_at < now() RETURNING id),
         released AS (UPDATE clearing_packet_holds h SET live_until = least(h.live_until, now()) FROM expired e WHERE h.operation_id = e.id)
         SELECT id::text AS id FROM expired`,
      ),
    );
    return rows.map((r) => r.id);
  }

  /**
   * The chains where the operation's unresolved packets would resolve — the destination for one awaiting its
   * receipt, the source for one awaiting its acknowledgement or timeout — whose blocks ingest has committed only up
   * to a time before `at`: what happened there by `at` is not known yet. A chain ingest does not follow is not
   * named (nothing will ever tell).
   */
  async chainsNotIngestedUntil(id: string, at: Date): Promise<string[]> {
    const rows = await this.db.query<{ chain_id: string }>(
      `SELECT DISTINCT c.chain_id
         FROM clearing_operation_packets p
         JOIN packet_keys k ON k.src_chain_id = p.src_chain_id AND k.src_port = p.src_port AND k.src_channel = p.src_channel AND k.sequence = p.sequence
         JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id
         JOIN ingest_cursors c ON c.chain_id = CASE WHEN p.stuck_kind = 'awaiting_recv' THEN f.dst_chain_id ELSE f.src_chain_id END
        WHERE p.operation_id = $1 AND p.state <> 'cleared' AND (c.block_time IS NULL OR c.block_time < $2)
        ORDER BY 1`,
      [id, at],
    );
    return rows.map((r) => r.chain_id);
  }

  /** Packets of the operation whose stuck state has resolved on chain already (cleared by anyone). */
  async markResolvedFromPacketTables(id: string): Promise<number> {
    const rows = rowsOf(
      await this.db.query(
        `UPDATE clearing_operation_packets p SET state = 'cleared', updated_at = now(),
                tx_hash = coalesce(CASE p.stuck_kind WHEN 'awaiting_recv' THEN f.recv_tx_hash END, f.ack_tx_hash, f.timeout_tx_hash)
           FROM packet_keys k JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id
          WHERE p.operation_id = $1 AND p.state <> 'cleared'
            AND k.src_chain_id = p.src_chain_id AND k.src_port = p.src_port AND k.src_channel = p.src_channel AND k.sequence = p.sequence
            AND (f.status IN ('acknowledged', 'timed_out') OR (p.stuck_kind = 'awaiting_recv' AND f.status = 'received'))
          RETURNING p.operation_id`,
        [id],
      ),
    );
    return rows.length;
  }

  /**
   * Packet events seen by ingest: the packets of live operations that they resolve become `cleared`. A receipt
   * resolves `awaiting_recv`; an acknowledgement or a timeout resolves any kind. Returns the operations touched.
   */
  async markCleared(events: ReadonlyArray<{ packet: PacketId; kind: 'received' | 'acknowledged' | 'timed_out'; txHash: string }>): Promise<string[]> {
    if (events.length === 0) return [];
    const rows = rowsOf<{ operation_id: string }>(
      await this.db.query(
        `UPDATE clearing_operation_packets p SET state = 'cleared', tx_hash = e.tx_hash, updated_at = now()
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS e(c, po, ch, s, kind, tx_hash),
                clearing_operations o
          WHERE p.src_chain_id = e.c AND p.src_port = e.po AND p.src_channel = e.ch AND p.sequence = e.s
            AND p.state <> 'cleared' AND o.id = p.operation_id AND o.status IN ('paid', 'clearing')
            AND (e.kind <> 'received' OR p.stuck_kind = 'awaiting_recv')
          RETURNING p.operation_id::text AS operation_id`,
        [...packetColumns(events.map((e) => e.packet)), events.map((e) => e.kind), events.map((e) => e.txHash)],
      ),
    );
    return [...new Set(rows.map((r) => r.operation_id))];
  }

  /**
   * Recounts cleared packets; completes the operation when all are. Bumps the version when anything changed, and
   * then also says the state the operation was in.
   */
  async settleProgress(id: string): Promise<{ outcome: 'completed' | 'progress'; previous: ClearingState } | { outcome: 'unchanged' }> {
    return this.db.write(async (m) => {
      const [row] = (await m.query(
        `SELECT o.status, o.packets_cleared, o.packet_count,
                (SELECT count(*)::int FROM clearing_operation_packets p WHERE p.operation_id = o.id AND p.state = 'cleared') AS cleared
           FROM clearing_operations o WHERE o.id = $1 FOR UPDATE`,
        [id],
      )) as Array<{ status: ClearingState; packets_cleared: number; packet_count: number; cleared: number }>;
      if (!row || (row.status !== 'paid' && row.status !== 'clearing')) return { outcome: 'unchanged' };
      const complete = row.cleared >= row.packet_count;
      if (!complete && row.cleared === row.packets_cleared) return { outcome: 'unchanged' };
      await m.query(
        `UPDATE clearing_operations SET packets_cleared = $2, version = version + 1, updated_at = now()
                ${complete ? `, status = 'completed', success = true, completed_at = now()` : ''}
          WHERE id = $1`,
        [id, row.cleared],
      );
      if (complete) await m.query(ClearingStore.RELEASE, [id]);
      return { outcome: complete ? 'completed' : 'progress', previous: row.status };
    });
  }

  /** Packets handed to their chain; one ingest saw cleared already (its block came first) keeps its state and gets the time. */
  async markRelayed(id: string, packets: readonly PacketId[]): Promise<void> {
    await this.db.query(
      `UPDATE clearing_operation_packets p SET state = CASE WHEN p.state = 'pending' THEN 'relayed' ELSE p.state END,
              relayed_at = coalesce(p.relayed_at, now()), updated_at = now()
         FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS e(c, po, ch, s)
        WHERE p.operation_id = $1 AND p.src_chain_id = e.c AND p.src_port = e.po AND p.src_channel = e.ch AND p.sequence = e.s`,
      [id, ...packetColumns(packets)],
    );
  }

  async pendingPackets(id: string): Promise<PacketId[]> {
    const rows = await this.db.query<{ src_chain_id: string; src_port: string; src_channel: string; sequence: string }>(
      `SELECT src_chain_id, src_port, src_channel, sequence::text AS sequence FROM clearing_operation_packets
        WHERE operation_id = $1 AND state <> 'cleared' ORDER BY src_chain_id, src_port, src_channel, sequence`,
      [id],
    );
    return rows;
  }

  /**
   * A refund for the operation's payment, once per payment and reason (the unique constraint makes a second
   * attempt a no-op). Returns the refund's id, new or existing, or undefined when there is no payment.
   */
  async createRefund(operationId: string, reason: 'failure' | 'excess'): Promise<string | undefined> {
    return this.db.write(async (m) => {
      const [pay] = (await m.query(
        `SELECT id, chain_id, payer, denom, amount::text AS amount, excess_amount::text AS excess FROM payments WHERE operation_id = $1 AND rejection_code IS NULL`,
        [operationId],
      )) as Array<{ id: string; chain_id: string; payer: string; denom: string; amount: string; excess: string }>;
      if (!pay) return undefined;
      const amount = reason === 'excess' ? BigInt(pay.excess) : BigInt(pay.amount) - BigInt(pay.excess);
      if (amount <= 0n) return undefined;
      await m.query(
        `INSERT INTO refunds (operation_id, payment_id, reason, chain_id, recipient, denom, amount)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payment_id, reason, recipient, denom) DO NOTHING`,
        [operationId, pay.id, reason, pay.chain_id, pay.payer, pay.denom, amount.toString()],
      );
      const [row] = (await m.query(`SELECT id::text AS id FROM refunds WHERE payment_id = $1 AND reason = $2 AND recipient = $3 AND denom = $4`, [
        pay.id,
        reason,
        pay.payer,
        pay.denom,
      ])) as Array<{ id: string }>;
      return row?.id;
    });
  }

  async refund(id: string): Promise<RefundRow | undefined> {
    const [row] = await this.db.query<RefundRow>(
      `SELECT r.id::text AS id, r.operation_id::text AS operation_id, r.payment_id::text AS payment_id, p.tx_hash AS payment_tx_hash, r.reason, r.chain_id,
              r.recipient, r.denom, r.amount::text AS amount, r.refund_status, r.tx_hash, r.signed_tx
         FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1`,
      [id],
    );
    return row;
  }

  /**
   * What the recovery sweep looks at: operations paid or clearing, and refunds pending or broadcast, unchanged for
   * `quietMs` (a job may have been lost: a crash between a payment's commit and its job, Redis' data gone).
   */
  async sweepCandidates(quietMs: number): Promise<{ operations: Array<{ id: string; status: 'paid' | 'clearing'; chain_id: string }>; refunds: string[] }> {
    const operations = await this.db.query<{ id: string; status: 'paid' | 'clearing'; chain_id: string }>(
      `SELECT id::text AS id, status, coalesce(payment_chain_id, chain_id) AS chain_id FROM clearing_operations
        WHERE status IN ('paid', 'clearing') AND updated_at < now() - make_interval(secs => $1::float8 / 1000) ORDER BY updated_at LIMIT 1000`,
      [quietMs],
    );
    const refunds = await this.db.query<{ id: string }>(
      `SELECT id::text AS id FROM refunds WHERE refund_status IN ('pending', 'broadcast') AND updated_at < now() - make_interval(secs => $1::float8 / 1000)
        ORDER BY updated_at LIMIT 1000`,
      [quietMs],
    );
    return { operations, refunds: refunds.map((r) => r.id) };
  }

  /** Refunds not confirmed `olderThanMs` after they were created: what an operator is alerted to. */
  async unconfirmedRefunds(olderThanMs: number): Promise<number> {
    const [row] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM refunds WHERE refund_status <> 'confirmed' AND created_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [olderThanMs],
    );
    return row?.n ?? 0;
  }

  /** Keeps the signed refund before it is broadcast: a retry re-broadcasts these bytes rather than signing anew. */
  /**
   * Runs `fn` holding the hot wallet's row lock (one signer per wallet and chain, whatever the number of processes),
   * with the sequence after the last transaction the node accepted; `fn` answers the next one to keep. The lock is a
   * transaction of its own: what `fn` writes through the store (signed bytes) commits at once, before it broadcasts.
   */
  async withHotWallet<T>(chainId: string, address: string, fn: (nextSequence: bigint | undefined) => Promise<{ result: T; nextSequence?: bigint }>): Promise<T> {
    await this.db.query(`INSERT INTO hot_wallet_accounts (chain_id, address) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [chainId, address]);
    return this.db.write(async (m) => {
      const [row] = (await m.query(`SELECT next_sequence::text AS next FROM hot_wallet_accounts WHERE chain_id = $1 AND address = $2 FOR UPDATE`, [chainId, address])) as Array<{
        next: string | null;
      }>;
      const { result, nextSequence } = await fn(row?.next == null ? undefined : BigInt(row.next));
      if (nextSequence !== undefined) {
        await m.query(`UPDATE hot_wallet_accounts SET next_sequence = $3, updated_at = now() WHERE chain_id = $1 AND address = $2`, [chainId, address, nextSequence.toString()]);
      }
      return result;
    });
  }

  /** A refund's signed transaction that can never land (its sequence went to another, it is in no block): kept as abandoned, to be signed anew. */
  async abandonSignedRefund(id: string, txHash: string): Promise<void> {
    await this.db.query(
      `UPDATE refunds SET abandoned_tx_hashes = abandoned_tx_hashes || tx_hash, tx_hash = NULL, signed_tx = NULL, refund_status = 'pending', updated_at = now()
        WHERE id = $1 AND tx_hash = $2`,
      [id, txHash],
    );
  }

  async saveSignedRefund(id: string, txHash: string, signed: Uint8Array): Promise<void> {
    await this.db.query(`UPDATE refunds SET tx_hash = $2, signed_tx = $3, attempts = attempts + 1, updated_at = now() WHERE id = $1 AND signed_tx IS NULL`, [
      id,
      txHash,
      Buffer.from(signed),
    ]);
  }

  async setRefundStatus(id: string, status: RefundRow['refund_status'], error?: string): Promise<void> {
    await this.db.query(`UPDATE refunds SET refund_status = $2, error = coalesce($3, error), updated_at = now() WHERE id = $1`, [id, status, error ?? null]);
  }

  /** The whole operation, as its owner sees it. */
  async view(id: string, preference: ReadPreference = 'primary'): Promise<OperationView | undefined> {
    const [op] = await this.db.query<{
      id: string; token_hash: string; wallet_address: string; status: ClearingState; version: number; created_at: Date; updated_at: Date;
      expires_at: Date | null; completed_at: Date | null; payment_chain_id: string | null; chain_id: string; payment_address: string; fee_denom: string;
      base_fee: string; per_packet_fee: string; gas_fee: string; total_fee: string; packet_count: number; packets_cleared: number; error: string | null;
    }>(
      `SELECT o.id::text AS id, t.token_hash, o.wallet_address, o.status, o.version, o.created_at, o.updated_at, o.expires_at, o.completed_at,
              o.payment_chain_id, o.chain_id, o.payment_address, o.fee_denom, o.base_fee::text AS base_fee, o.per_packet_fee::text AS per_packet_fee,
              o.gas_fee::text AS gas_fee, o.total_fee::text AS total_fee, o.packet_count, o.packets_cleared, o.error
         FROM clearing_operations o JOIN clearing_tokens t ON t.operation_id = o.id WHERE o.id = $1`,
      [id],
      preference,
    );
    if (!op) return undefined;
    const [packets, payments, refunds] = await Promise.all([
      this.db.query<{ src_chain_id: string; src_port: string; src_channel: string; sequence: string; stuck_kind: StuckKind; state: PacketClearState; tx_hash: string | null }>(
        `SELECT src_chain_id, src_port, src_channel, sequence::text AS sequence, stuck_kind, state, tx_hash FROM clearing_operation_packets
          WHERE operation_id = $1 ORDER BY src_chain_id, src_port, src_channel, sequence`,
        [id],
        preference,
      ),
      this.db.query<{ tx_hash: string; amount: string; excess: string; detected_by: 'user' | 'ingest'; payer: string }>(
        `SELECT tx_hash, amount::text AS amount, excess_amount::text AS excess, detected_by, payer FROM payments WHERE operation_id = $1 AND rejection_code IS NULL`,
        [id],
        preference,
      ),
      this.db.query<{ reason: RefundReason; amount: string; denom: string; refund_status: string; tx_hash: string | null }>(
        `SELECT reason, amount::text AS amount, denom, refund_status, tx_hash FROM refunds WHERE operation_id = $1 ORDER BY created_at`,
        [id],
        preference,
      ),
    ]);
    const pay = payments[0];
    return {
      operation_id: op.id,
      token_hash: op.token_hash,
      wallet: op.wallet_address,
      state: op.status,
      version: op.version,
      created_at: op.created_at.toISOString(),
      updated_at: op.updated_at.toISOString(),
      expires_at: op.expires_at?.toISOString() ?? null,
      completed_at: op.completed_at?.toISOString() ?? null,
      payment: { chain_id: op.payment_chain_id ?? op.chain_id, address: op.payment_address, denom: op.fee_denom, amount: op.total_fee, memo_prefix: 'CLR-' },
      fee: { base: op.base_fee, per_packet: op.per_packet_fee, gas: op.gas_fee, total: op.total_fee, denom: op.fee_denom },
      progress: { total: op.packet_count, cleared: op.packets_cleared },
      packets: packets.map((p) => ({
        packet: { src_chain_id: p.src_chain_id, src_port: p.src_port, src_channel: p.src_channel, sequence: p.sequence },
        stuck_kind: p.stuck_kind,
        state: p.state,
        ...(p.tx_hash ? { tx_hash: p.tx_hash } : {}),
      })),
      paid: pay ? { tx_hash: pay.tx_hash, amount: pay.amount, excess: pay.excess, detected_by: pay.detected_by, payer: pay.payer } : null,
      refunds: refunds.map((r) => ({ reason: r.reason, amount: r.amount, denom: r.denom, status: r.refund_status, tx_hash: r.tx_hash })),
      error: op.error,
    };
  }

  /** A wallet's clearing statistics from the user-statistics view (refreshed on a schedule by the aggregator). */
  async userStatistics(wallet: string): Promise<Record<string, string | number | null> | undefined> {
    const [row] = await this.db.query<Record<string, string | number | null>>(
      `SELECT wallet_address AS wallet, total_operations::int AS total_operations, completed_operations::int AS completed_operations,
              failed_operations::int AS failed_operations, packets_cleared::text AS packets_cleared, fees_paid::text AS fees_paid,
              first_operation_at, last_operation_at FROM mv_user_statistics WHERE wallet_address = $1`,
      [wallet],
      'replica',
    );
    return row;
  }
}

/** Packet identities as the four column arrays `unnest($n::text[], …, $m::bigint[])` takes. */
function packetColumns(ids: readonly PacketId[]): [string[], string[], string[], string[]] {
  return [ids.map((i) => i.src_chain_id), ids.map((i) => i.src_port), ids.map((i) => i.src_channel), ids.map((i) => i.sequence)];
}

/** The event that announces an operation's current state. */
export function operationEvent(view: OperationView, previous: ClearingState | null): ClearingOperationUpdatedV1 {
  const failureRefund = view.refunds.find((r) => r.reason === 'failure' && r.tx_hash);
  return {
    operation_id: view.operation_id,
    token_hash: view.token_hash,
    wallet: view.wallet,
    state: view.state,
    previous_state: previous,
    version: view.version,
    progress: view.progress,
    packets: view.packets.map((p) => ({ packet: p.packet, state: p.state, ...(p.tx_hash && /^[0-9A-F]{64}$/.test(p.tx_hash) ? { tx_hash: p.tx_hash } : {}) })),
    ...(view.paid ? { payment_tx_hash: view.paid.tx_hash } : {}),
    ...(failureRefund?.tx_hash ? { refund_tx_hash: failureRefund.tx_hash } : {}),
    ...(view.error ? { error: view.error.slice(0, 2000) } : {}),
    updated_at: view.updated_at,
  };
}

/** A payment's received coins as stored (jsonb, amounts as decimal strings). */
function receivedJson(received: readonly CoinReturn[]): string {
  return JSON.stringify(received.map((r) => ({ from: r.to, denom: r.denom, amount: r.amount.toString() })));
}
