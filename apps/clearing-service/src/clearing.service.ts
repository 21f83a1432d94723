import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  checkPayment,
  ClearingStore,
  describeReturns,
  hashToken,
  isTokenShaped,
  judgeClearable,
  MEMO_PREFIX,
  memoFor,
  newClearingToken,
  operationEvent,
  PacketsHeldError,
  quoteFee,
  receivedBy,
  tokenFromMemo,
  type ClearableCandidate,
  type CoinReturn,
  type OperationView,
  type PaymentFacts,
  type StuckKind,
} from '@unstuck/clearing';
import type { ClearingState, PacketId } from '@unstuck/contracts';
import { MAX_STORED_SEQUENCE, packetKey } from '@unstuck/contracts';
import { EventPublisher } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import { decodeTx, InvalidWalletError, parseWallet } from '@unstuck/packets';
import { SingleFlight } from '@unstuck/resilience';
import { ChainStateReader } from './chain-state';
import { ClearingError } from './errors';
import { PaymentChains, type PaymentChain } from './payment-chains';
import { CLEARING_ENV } from './tokens';
import type { AppEnv } from './env';

export { ClearingError };

export interface QuoteAnswer {
  operation_id: string;
  /** The one-time token, shown once: only its hash is stored. */
  token: string;
  state: 'quoted';
  expires_at: string;
  payment: { chain_id: string; address: string; denom: string; amount: string; memo: string };
  fee: { base: string; per_packet: string; gas: string; total: string; denom: string };
  packets: Array<{ packet: PacketId; stuck_kind: StuckKind }>;
}

const m = {
  quotes: metric.counter({ name: 'clearing_quotes_total', help: 'quotes issued' }),
  quotes_refused_held: metric.counter({
    name: 'clearing_quotes_refused_held_total',
    help: 'quotes the database refused because another live operation took the packet first (a concurrent quote)',
  }),
  quotes_refused_chain_state: metric.counter({
    name: 'clearing_quotes_refused_chain_state_total',
    help: "quotes refused because the chains say the packets cannot be cleared now, by reason (channel_not_open, client_not_active, ordered_channel_blocked, packet_not_stuck)",
    labelNames: ['code'],
  }),
  payments: metric.counter({ name: 'clearing_payments_total', help: 'payment verifications by outcome and source', labelNames: ['outcome', 'source'] }),
  transitions: metric.counter({ name: 'clearing_operations_total', help: 'operation state changes', labelNames: ['state'] }),
};

/**
 * Quotes, payment verification and the operation's state changes, each announced as a
 * `clearing.operation_updated` event (the notifier's `clearing:<token>` rooms, the aggregator's platform figures).
 */
@Injectable()
export class ClearingService {
  private readonly logger = new Logger(ClearingService.name);
  private readonly verifying = new SingleFlight<OperationView>();
  /** Called after a payment is recorded (the job layer enqueues the clearing and any excess refund). */
  onPaid: (operationId: string, excess: bigint) => Promise<void> = async () => undefined;
  /** Called when a refund row exists that must be paid out (a refused payment's money going back). */
  onRefundDue: (refundId: string) => Promise<void> = async () => undefined;

  constructor(
    @Inject(CLEARING_ENV) private readonly env: AppEnv,
    @Inject(ClearingStore) private readonly store: ClearingStore,
    @Inject(PaymentChains) private readonly chains: PaymentChains,
    @Inject(EventPublisher) private readonly publisher: EventPublisher,
    @Inject(ChainStateReader) private readonly chainState: ChainStateReader,
  ) {}

  async quote(walletInput: string, packets: readonly PacketId[]): Promise<QuoteAnswer> {
    const { address: wallet, prefix } = this.wallet(walletInput);
    if (packets.length === 0) throw new ClearingError(400, 'no_packets', 'name at least one stuck packet to clear');
    if (packets.length > this.env.CLEARING_MAX_PACKETS) {
      throw new ClearingError(400, 'too_many_packets', `at most ${this.env.CLEARING_MAX_PACKETS} packets per operation; ${packets.length} were given`);
    }
    const keys = new Set<string>();
    for (const p of packets) {
      if (keys.has(packetKey(p))) throw new ClearingError(400, 'duplicate_packet', `packet ${packetKey(p)} is listed twice`);
      keys.add(packetKey(p));
    }
    const chain = this.chains.byPrefix(prefix);
    if (!chain) throw new ClearingError(400, 'unsupported_chain', `clearing fees are paid on the wallet's own chain, and no chain with addresses ${prefix}1… takes payments here`);

    // A valid uint64 above what PostgreSQL's bigint holds names no packet Unstuck has seen: not asked of the store.
    const found = new Map((await this.store.candidates(packets.filter((p) => BigInt(p.sequence) <= MAX_STORED_SEQUENCE))).map((c) => [packetKey(c.packet), c]));
    const offered: ClearableCandidate[] = [];
    for (const p of packets) {
      const c = found.get(packetKey(p));
      const name = packetKey(p);
      if (!c) throw new ClearingError(400, 'packet_not_found', `packet ${name} has not been seen by Unstuck`);
      if (c.sender !== wallet && c.receiver !== wallet) throw new ClearingError(400, 'packet_not_yours', `packet ${name} was neither sent nor received by ${wallet}`);
      if (c.status === 'received' && c.ackPending) {
        throw new ClearingError(
          400,
          'ack_not_written',
          `packet ${name} was received, but the destination has not written its acknowledgement yet (an async acknowledgement, e.g. a forwarded packet still in flight): there is nothing to relay back until it does`,
        );
      }
      if (!c.stuckKind || (c.status !== 'sent' && c.status !== 'received')) {
        throw new ClearingError(400, 'packet_not_stuck', `packet ${name} is not stuck (it is ${c.status.replace('_', ' ')})`);
      }
      if (c.activeOperation) throw new ClearingError(409, 'packet_already_clearing', `packet ${name} is already part of clearing operation ${c.activeOperation}`);
      if (!c.dstChainId || !c.dstPort || !c.dstChannel) {
        throw new ClearingError(400, 'unknown_destination', `Unstuck does not know where packet ${name} goes (its channel's counterparty is not resolved yet), so it cannot relay it`);
      }
      offered.push({ packet: c.packet, kind: c.stuckKind, dstChainId: c.dstChainId, dstPort: c.dstPort, dstChannel: c.dstChannel, timeoutHeight: c.timeoutHeight, timeoutTimestampNs: c.timeoutTimestampNs });
    }
    // The chains have the last word: channel ends open, clients active, an ORDERED channel's order, the timeout.
    const judged = judgeClearable(offered, await this.chainState.factsFor(offered));
    if ('refusal' in judged) {
      m.quotes_refused_chain_state.inc({ code: judged.refusal.code });
      throw new ClearingError(400, judged.refusal.code, judged.refusal.message);
    }
    const relaysPerChain = new Map<string, number>();
    const chosen = offered.map((c, i) => ({ packet: c.packet, stuckKind: judged.kinds[i]! }));
    offered.forEach((c, i) => {
      // Where the relay lands: a receipt on the destination, an acknowledgement or a timeout back on the source.
      const relayChain = judged.kinds[i] === 'awaiting_recv' ? c.dstChainId : c.packet.src_chain_id;
      relaysPerChain.set(relayChain, (relaysPerChain.get(relayChain) ?? 0) + 1);
    });
    const fee = quoteFee(
      { base: BigInt(this.env.CLEARING_BASE_FEE), perPacket: BigInt(this.env.CLEARING_PER_PACKET_FEE), gasPerPacket: BigInt(this.env.CLEARING_GAS_PER_PACKET) },
      relaysPerChain,
      chain.gasPrice,
    );
    const { token, hash } = newClearingToken();
    const expiresAt = new Date(Date.now() + this.env.CLEARING_TOKEN_TTL_SECONDS * 1000);
    const id = await this.store
      .createOperation({
        wallet,
        paymentChainId: chain.chainId,
        paymentAddress: chain.wallet.address,
        denom: chain.denom,
        ...fee,
        tokenHash: hash,
        expiresAt,
        packets: chosen,
      })
      .catch((e: unknown) => {
        // Another quote took the packet between the check above and this insert: the database said no.
        if (e instanceof PacketsHeldError) {
          m.quotes_refused_held.inc();
          throw new ClearingError(409, 'packet_already_clearing', `packet ${e.message}; wait until that operation ends or its quote expires`);
        }
        throw e;
      });
    m.quotes.inc();
    await this.announce(id, null);
    return {
      operation_id: id,
      token,
      state: 'quoted',
      expires_at: expiresAt.toISOString(),
      payment: { chain_id: chain.chainId, address: chain.wallet.address, denom: chain.denom, amount: fee.total.toString(), memo: memoFor(token) },
      fee: { base: fee.base.toString(), per_packet: fee.perPacket.toString(), gas: fee.gas.toString(), total: fee.total.toString(), denom: chain.denom },
      packets: chosen.map((c) => ({ packet: c.packet, stuck_kind: c.stuckKind })),
    };
  }

  /**
   * Verifies a payment named by the payer (`user`, with the caller's wallet) or seen by ingest (`ingest`).
   * Idempotent: the same token and transaction again give the same answer; one transaction pays one operation.
   */
  async verifyPayment(token: string, txHashInput: string, source: { by: 'user'; wallet: string } | { by: 'ingest'; chainId: string }): Promise<OperationView> {
    if (!isTokenShaped(token)) throw new ClearingError(400, 'invalid_token', 'the clearing token is the 43-character value returned by the quote');
    const txHash = txHashInput.trim().toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(txHash)) throw new ClearingError(400, 'invalid_tx_hash', 'tx_hash must be the 64-hex-digit transaction hash');
    return this.verifying.do(`${token}:${txHash}`, () => this.verify(token, txHash, source));
  }

  private async verify(token: string, txHash: string, source: { by: 'user'; wallet: string } | { by: 'ingest'; chainId: string }): Promise<OperationView> {
    const id = await this.store.operationIdByTokenHash(hashToken(token));
    const op = id && (await this.store.view(id));
    // Someone else's operation answers exactly like no operation: a token is not a way to probe for others'.
    if (!op || (source.by === 'user' && op.wallet !== this.wallet(source.wallet).address)) {
      throw new ClearingError(404, 'unknown_token', 'no clearing operation has this token');
    }
    const chain = this.chains.get(op.payment.chain_id);
    if (!chain) throw new ClearingError(503, 'payment_chain_unavailable', `payments on ${op.payment.chain_id} cannot be verified right now`);
    if (source.by === 'ingest' && source.chainId !== chain.chainId) throw new ClearingError(400, 'wrong_chain', `the payment must be made on ${chain.chainId}`);

    const earlier = await this.store.paymentByTx(chain.chainId, txHash);
    if (earlier) {
      if (earlier.operation_id === op.operation_id && earlier.rejection) {
        // Refused before: the same answer, and its refund queued again in case a crash came in between (job id dedupes).
        for (const refundId of earlier.rejection.refund_ids) await this.onRefundDue(refundId);
        throw new ClearingError(refusalStatus(earlier.rejection.code), earlier.rejection.code, earlier.rejection.message);
      }
      if (earlier.operation_id === op.operation_id) {
        // Recorded before; if a crash came between the record and the job, the job is queued now (its id dedupes).
        if (op.state === 'paid') await this.onPaid(op.operation_id, BigInt(op.paid?.excess ?? '0'));
        for (const refundId of earlier.refund_ids) await this.onRefundDue(refundId);
        return op;
      }
      m.payments.inc({ outcome: 'replayed', source: source.by });
      throw new ClearingError(409, 'payment_replayed', `transaction ${txHash} already paid another clearing operation`);
    }

    const facts = await this.readPayment(chain, txHash);
    const check = checkPayment(facts, {
      chainId: chain.chainId,
      address: chain.wallet.address,
      denom: chain.denom,
      amount: BigInt(op.fee.total),
      token,
      expiresAt: new Date(op.expires_at!),
    });
    if (!check.ok) {
      m.payments.inc({ outcome: check.code, source: source.by });
      if (check.returns.length) return this.refuse(op.operation_id, chain, facts, source.by, check.returns, check.code, check.message);
      throw new ClearingError(refusalStatus(check.code), check.code, check.message);
    }
    const everything = receivedBy(facts.sends, facts.serviceAddress);
    const alreadyPaid = (by: string | undefined) =>
      this.refuse(op.operation_id, chain, facts, source.by, everything, 'already_paid', `this operation was already paid by transaction ${by ?? 'another transaction'}`);
    if (op.paid) return alreadyPaid(op.paid.tx_hash);
    const recorded = await this.store.recordPayment({
      operationId: op.operation_id,
      chainId: chain.chainId,
      txHash,
      height: facts.height,
      payer: check.payer,
      recipient: chain.wallet.address,
      denom: chain.denom,
      amount: check.paid,
      excess: check.excess,
      memo: facts.memo,
      detectedBy: source.by,
      received: everything,
    }, check.returns);
    if (recorded.outcome === 'packets_taken') {
      m.payments.inc({ outcome: 'packets_taken', source: source.by });
      return this.refuse(
        op.operation_id,
        chain,
        facts,
        source.by,
        everything,
        'packets_taken',
        'this quote had expired when its payment was verified, and another clearing operation holds its packets now',
      );
    }
    if (recorded.outcome === 'not_waiting') {
      // Another verification of the same payment committed first, or another transaction paid meanwhile.
      const now = await this.store.view(op.operation_id);
      if (now?.paid?.tx_hash === txHash) return now;
      return alreadyPaid(now?.paid?.tx_hash);
    }
    m.payments.inc({ outcome: 'verified', source: source.by });
    this.logger.log(`operation ${op.operation_id} paid by ${txHash} (${check.paid}${chain.denom}, excess ${check.excess}, seen by ${source.by})`);
    // The job first: once announced, a paid operation must already have its job (the sweep catches a crash between).
    await this.onPaid(op.operation_id, check.excess);
    for (const refundId of recorded.refundIds) await this.onRefundDue(refundId);
    if (check.returns.length) this.logger.log(`payment ${txHash} also sent coins that cannot pay; going back: ${describeReturns(check.returns)}`);
    await this.announce(op.operation_id, op.state);
    return (await this.store.view(op.operation_id))!;
  }

  /**
   * A payment that reached the service address with a CLR- memo but cannot pay its operation (another denom,
   * underpaid, too late, the operation paid already, another chain) or names none: recorded with why, and every
   * coin it sent us goes back to the account whose funds moved (`rejected` refunds, one per sender and denom).
   */
  private async refuse(
    operationId: string | null,
    chain: PaymentChain,
    facts: PaymentFacts,
    by: 'user' | 'ingest',
    returns: readonly CoinReturn[],
    code: string,
    reason: string,
  ): Promise<never> {
    const message = `${reason}; what was received goes back: ${describeReturns(returns)}`;
    const refundIds = await this.store.recordRefusedPayment(
      {
        operationId,
        chainId: chain.chainId,
        txHash: facts.txHash,
        height: facts.height,
        payer: returns[0]!.to,
        recipient: chain.wallet.address,
        denom: chain.denom,
        amount: returns.filter((r) => r.denom === chain.denom).reduce((sum, r) => sum + r.amount, 0n),
        excess: 0n,
        memo: facts.memo,
        detectedBy: by,
        // Every refusal sends back all that reached the service: what goes back is what was received.
        received: returns,
      },
      { code, message },
      returns,
    );
    this.logger.log(`payment ${facts.txHash} on ${chain.chainId}${operationId ? ` for operation ${operationId}` : ''} refused (${code}); ${refundIds.length} refund(s) queued`);
    for (const refundId of refundIds) await this.onRefundDue(refundId);
    if (operationId) await this.announce(operationId, null);
    throw new ClearingError(refusalStatus(code), code, message);
  }

  /**
   * A payment ingest saw (a bank send with a CLR- memo to the hot wallet): verified like one the payer names. One
   * that names no operation (an unknown or mistyped token) or pays on another chain than its quote's is recorded and
   * sent back. Answers `later` when it cannot be judged yet — the node's /tx does not find it (its tx indexer lags
   * the blocks ingest read) or the chain cannot be read — so that it is retried, never acknowledged and forgotten.
   */
  async paymentObserved(chainId: string, txHash: string, memo: string, to: string): Promise<'done' | 'later'> {
    const chain = this.chains.get(chainId);
    if (!memo.startsWith(MEMO_PREFIX) || !chain || to !== chain.wallet.address) return 'done';
    const token = tokenFromMemo(memo);
    try {
      const operationId = token ? await this.store.operationIdByTokenHash(hashToken(token)) : undefined;
      const op = operationId ? await this.store.view(operationId) : undefined;
      if (!op) {
        await this.refundUnclaimed(chain, txHash.toUpperCase(), null, 'unknown_token', `the memo ${JSON.stringify(memo.slice(0, 80))} names no clearing operation`);
      } else if (op.payment.chain_id !== chainId) {
        await this.refundUnclaimed(chain, txHash.toUpperCase(), op.operation_id, 'wrong_chain', `the payment must be made on ${op.payment.chain_id}, not ${chainId}`);
      } else {
        await this.verifyPayment(token!, txHash, { by: 'ingest', chainId });
      }
      return 'done';
    } catch (e) {
      if (e instanceof ClearingError && NOT_YET.has(e.code)) {
        m.payments.inc({ outcome: 'retry_later', source: 'ingest' });
        this.logger.warn(`payment ${txHash} on ${chainId} cannot be verified yet (${e.code}); it will be tried again`);
        return 'later';
      }
      if (!(e instanceof ClearingError) || e.status >= 500) throw e;
      this.logger.warn(`payment ${txHash} on ${chainId} not accepted: ${e.code}: ${e.message}`);
      return 'done';
    }
  }

  /** A CLR- payment that cannot reach its operation's checks (no such operation, another chain): recorded once and sent back. */
  private async refundUnclaimed(chain: PaymentChain, txHash: string, operationId: string | null, code: string, reason: string): Promise<void> {
    const earlier = await this.store.paymentByTx(chain.chainId, txHash);
    if (earlier) {
      for (const refundId of earlier.refund_ids) await this.onRefundDue(refundId);
      return;
    }
    const facts = await this.readPayment(chain, txHash);
    if (facts.code !== 0) return;
    const returns = receivedBy(facts.sends, facts.serviceAddress);
    if (returns.length === 0) return;
    m.payments.inc({ outcome: code, source: 'ingest' });
    await this.refuse(operationId, chain, facts, 'ingest', returns, code, reason);
  }

  /** The transaction as the chain reports it, through the chain's breaker-guarded RPC client. */
  private async readPayment(chain: PaymentChain, txHash: string): Promise<PaymentFacts> {
    const tx = await chain.rpc.tx(txHash).catch((e: unknown) => {
      throw new ClearingError(503, 'chain_unavailable', `${chain.chainId} cannot be read right now (${(e as Error).message}); try again shortly`);
    });
    if (!tx) throw new ClearingError(404, 'tx_not_found', `transaction ${txHash} is not on ${chain.chainId}; if it was just sent, retry once it is in a block`);
    const decoded = decodeTx(tx.tx);
    const blockTime = await chain.rpc.blockTime(tx.height);
    return { chainId: chain.chainId, txHash, height: tx.height, blockTime: new Date(blockTime), code: tx.code, memo: decoded.memo, sends: decoded.bankSends, serviceAddress: chain.wallet.address };
  }

  /** Moves an operation and announces it; false when it was not in one of `from`. */
  async transition(id: string, from: readonly ClearingState[], to: ClearingState, error?: string): Promise<boolean> {
    const previous = await this.store.transition(id, from, to, error);
    if (!previous) return false;
    m.transitions.inc({ state: to });
    await this.announce(id, previous);
    return true;
  }

  /** Publishes the operation's current state (message id = operation and version: a repeat is dropped). */
  async announce(id: string, previous: ClearingState | null): Promise<void> {
    const view = await this.store.view(id);
    if (!view) return;
    await this.publisher.publish('clearing.operation_updated', operationEvent(view, previous === view.state ? null : previous));
  }

  /** Quotes whose five minutes passed without a payment. */
  async expireQuotes(): Promise<number> {
    const ids = await this.store.expireQuotes();
    for (const id of ids) {
      m.transitions.inc({ state: 'expired' });
      await this.announce(id, 'quoted');
    }
    return ids.length;
  }

  private wallet(input: string): { address: string; prefix: string } {
    try {
      return parseWallet(input);
    } catch (e) {
      if (e instanceof InvalidWalletError) throw new ClearingError(400, e.code, e.message);
      throw e;
    }
  }
}

/** Verification outcomes that say "not yet", not "no": an observed payment is tried again after them. */
const NOT_YET = new Set(['tx_not_found', 'chain_unavailable', 'payment_chain_unavailable']);

/** The HTTP status of a payment refusal: gone for an expired quote, conflict for a second payment, else bad request. */
function refusalStatus(code: string): number {
  if (code === 'token_expired') return 410;
  if (code === 'already_paid' || code === 'packets_taken') return 409;
  return 400;
}
