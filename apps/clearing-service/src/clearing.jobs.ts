import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { ClearingStore, HermesRelayer, HotWallet, RelayerError, SimRelayer, type RefundRow, type RelayerPort, type SignedTx } from '@unstuck/clearing';
import type { PacketId } from '@unstuck/contracts';
import { isConnectionError } from '@unstuck/db';
import { metric } from '@unstuck/observability';
import { ClearingService } from './clearing.service';
import { PaymentChains } from './payment-chains';
import { CLEARING_ENV } from './tokens';
import type { AppEnv } from './env';

/** Times a job found the database unreachable and was put back, which its next wait doubles with. */
interface WaitsForDatabase {
  dbWaits?: number;
}
interface OperationJob extends WaitsForDatabase {
  operationId: string;
  /** On a deadline job queued because relaying failed for good: why, for the operation's record. */
  reason?: string;
  /** On a deadline job: when the deadline is (ms since the epoch); ingest must have seen the chains up to it. */
  due?: number;
  /** On a deadline job: it has waited for ingest already (said once in the log). */
  waitedForIngest?: boolean;
  /** On a check job: which round of 'has the chain shown the relays yet?' this is (1, 2 …). */
  round?: number;
}
interface RefundJob extends WaitsForDatabase {
  refundId: string;
}
/** The longest a job waits for an unreachable database before it tries again. */
/** How long a refund handed to the node may take to be in a block before its job is retried (and looks it up). */
const REFUND_INCLUSION_MS = 60_000;
/** How long bytes refused for their sequence are looked for in blocks before they are given up (a lagging tx index). */
const REFUND_INDEX_GRACE_MS = 3_000;
const DATABASE_WAIT_MAX_MS = 60_000;

/**
 * Puts a running job back to run again in `delayMs`, with `data` (if any) merged into its own, without spending an
 * attempt (BullMQ's manual delay: moveToDelayed, then DelayedError so the worker leaves the job where it now is).
 */
async function putBack<J>(job: Job<J>, token: string, delayMs: number, data: Partial<J>): Promise<never> {
  if (Object.keys(data).length > 0) await job.updateData({ ...job.data, ...data });
  await job.moveToDelayed(Date.now() + delayMs, token);
  throw new DelayedError();
}

const m = {
  jobs: metric.counter({ name: 'clearing_jobs_total', help: 'clearing, deadline and refund jobs by outcome', labelNames: ['queue', 'outcome'] }),
  unconfirmed: metric.gauge({
    name: 'clearing_refunds_unconfirmed',
    help: 'refunds not confirmed on chain CLEARING_REFUND_ALERT_SECONDS after they were created (pending, broadcast or failed): alert when above 0',
  }),
  refunds: metric.counter({ name: 'clearing_refunds_total', help: 'refunds by reason and outcome', labelNames: ['reason', 'outcome'] }),
};

/** The queue of one payment chain's operations: BullMQ's per-worker concurrency is the per-chain limit. */
const clearQueueName = (chainId: string) => `clearing-${chainId.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export function relayerFor(env: AppEnv): RelayerPort {
  return env.CLEARING_RELAYER === 'hermes'
    ? new HermesRelayer(env.HERMES_BIN, { configFile: env.HERMES_CONFIG || undefined, timeoutMs: env.RELAYER_TIMEOUT_MS, keys: env.HERMES_KEYS })
    : new SimRelayer(env.CHAIN_SIM_ADMIN_URL, 'unstuck-clearing', env.RELAYER_TIMEOUT_MS);
}

/**
 * Clearing as BullMQ jobs in Redis, so they survive a crash of this process:
 * - `clearing-<chain>`: one job per paid operation (job id = operation id: never twice) asks the relayer to relay
 *   its packets, with retries and exponential backoff; BullMQ's stalled-job check hands a job whose worker died
 *   (kill -9) to another worker. Completion is not this job's business: ingest's packet events complete it.
 * - `clearing-deadlines`: a delayed job per operation fails it (and refunds) if ingest has not seen every packet
 *   resolved in time.
 * - `refunds`: one job per refund row; the signed transaction is stored before it is broadcast, so a retry
 *   re-broadcasts the same bytes and a refund is never paid twice.
 * A job that finds the database unreachable (PostgreSQL restarting) is put back for later without spending one of
 * its attempts: an outage must neither fail a paid operation nor leave it without a job.
 */
@Injectable()
export class ClearingJobs implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ClearingJobs.name);
  private readonly clearQueues = new Map<string, Queue<OperationJob>>();
  private deadlineQueue!: Queue<OperationJob>;
  private refundQueue!: Queue<RefundJob>;
  private readonly workers: Worker[] = [];
  private expiryTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly relayer: RelayerPort;

  constructor(
    @Inject(CLEARING_ENV) private readonly env: AppEnv,
    @Inject(ClearingStore) private readonly store: ClearingStore,
    @Inject(ClearingService) private readonly clearing: ClearingService,
    @Inject(PaymentChains) private readonly chains: PaymentChains,
  ) {
    this.relayer = relayerFor(env);
  }

  private get connection() {
    // BullMQ's workers block on Redis: no per-command retry limit on their connections.
    return { url: this.env.REDIS_URL, maxRetriesPerRequest: null };
  }

  async onModuleInit(): Promise<void> {
    await this.chains.ready();
    const prefix = 'unstuck';
    const backoff = { type: 'exponential' as const, delay: this.env.CLEARING_BACKOFF_MS };
    for (const chain of this.chains.all()) {
      const name = clearQueueName(chain.chainId);
      const queue = new Queue<OperationJob>(name, { connection: this.connection, prefix, defaultJobOptions: { attempts: this.env.CLEARING_ATTEMPTS, backoff, removeOnComplete: 1000, removeOnFail: 1000 } });
      this.clearQueues.set(chain.chainId, queue);
      const worker = new Worker<OperationJob>(name, (job, token) => this.unlessDatabaseDown('clearing', job, token, () => this.clear(job)), { connection: this.connection, prefix, concurrency: this.env.CLEARING_CONCURRENCY_PER_CHAIN, lockDuration: this.env.CLEARING_JOB_LOCK_MS, stalledInterval: 5_000 });
      worker.on('failed', (job, err) => void this.onClearFailed(job, err).catch((e: Error) => this.logger.error(`clearing ${job?.data.operationId}: its failure could not be queued: ${e.message}`)));
      this.workers.push(worker);
    }
    this.deadlineQueue = new Queue<OperationJob>('clearing-deadlines', { connection: this.connection, prefix, defaultJobOptions: { attempts: 10, backoff, removeOnComplete: 1000, removeOnFail: 1000 } });
    this.workers.push(new Worker<OperationJob>('clearing-deadlines', (job, token) => this.unlessDatabaseDown('deadline', job, token, () => (job.name === 'check' ? this.check(job) : this.deadline(job, token))), { connection: this.connection, prefix, concurrency: 4 }));
    this.refundQueue = new Queue<RefundJob>('refunds', { connection: this.connection, prefix, defaultJobOptions: { attempts: 20, backoff, removeOnComplete: 1000, removeOnFail: 1000 } });
    this.workers.push(new Worker<RefundJob>('refunds', (job, token) => this.unlessDatabaseDown('refund', job, token, () => this.refund(job)), { connection: this.connection, prefix, concurrency: 2, lockDuration: this.env.CLEARING_JOB_LOCK_MS, stalledInterval: 5_000 }));
    for (const w of this.workers) w.on('error', (e) => this.logger.warn(`worker error: ${e.message}`));

    this.clearing.onPaid = async (operationId, excess) => {
      await this.enqueueClearing(operationId);
      if (excess > 0n) await this.enqueueRefund(operationId, 'excess');
    };
    this.clearing.onRefundDue = (refundId) => this.queueRefund(refundId);
    this.expiryTimer = setInterval(() => void this.clearing.expireQuotes().catch((e: Error) => this.logger.warn(`expiring quotes: ${e.message}`)), 5_000);
    this.expiryTimer.unref();
    // At start (jobs a crash or a Redis loss took with it), then every CLEARING_SWEEP_SECONDS.
    const sweep = () => void this.sweep().catch((e: Error) => this.logger.warn(`recovery sweep: ${e.message}`));
    sweep();
    this.sweepTimer = setInterval(sweep, this.env.CLEARING_SWEEP_SECONDS * 1000);
    this.sweepTimer.unref();
  }

  /**
   * No paid operation and no refund without a job: operations paid or clearing and refunds pending or broadcast,
   * unchanged for CLEARING_SWEEP_QUIET_SECONDS, whose job is gone (never queued: a crash between the payment's
   * commit and its job; finished without moving them; Redis' data lost) get one again. A job still waiting, delayed
   * or running is left alone; job ids are the operation's and the refund's, so nothing runs twice.
   */
  async sweep(): Promise<{ operations: number; refunds: number }> {
    const { operations, refunds } = await this.store.sweepCandidates(this.env.CLEARING_SWEEP_QUIET_SECONDS * 1000);
    let requeuedOps = 0;
    for (const op of operations) {
      const clearQueue = this.clearQueues.get(op.chain_id);
      if (!clearQueue) continue;
      const live = [await liveJob(clearQueue, op.id), await liveJob(this.deadlineQueue, `deadline-${op.id}`), await liveJob(this.deadlineQueue, `failed-${op.id}`)];
      if (live.some(Boolean)) continue;
      requeuedOps += 1;
      m.jobs.inc({ queue: 'sweep', outcome: op.status === 'paid' ? 'clearing_requeued' : 'deadline_requeued' });
      if (op.status === 'paid') {
        await removeFinished(clearQueue, op.id);
        await clearQueue.add('clear', { operationId: op.id }, { jobId: op.id });
      } else {
        // Its relays were submitted: it gets its deadline again, counted from now (ingest may still report them).
        await removeFinished(this.deadlineQueue, `deadline-${op.id}`);
        await this.queueDeadline(op.id);
      }
      this.logger.warn(`recovery sweep: operation ${op.id} was ${op.status} with no job; queued again`);
    }
    let requeuedRefunds = 0;
    for (const id of refunds) {
      if (await liveJob(this.refundQueue, id)) continue;
      requeuedRefunds += 1;
      m.jobs.inc({ queue: 'sweep', outcome: 'refund_requeued' });
      await removeFinished(this.refundQueue, id);
      await this.queueRefund(id);
      this.logger.warn(`recovery sweep: refund ${id} was not confirmed and had no job; queued again`);
    }
    m.unconfirmed.set(await this.store.unconfirmedRefunds(this.env.CLEARING_REFUND_ALERT_SECONDS * 1000));
    return { operations: requeuedOps, refunds: requeuedRefunds };
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.expiryTimer);
    clearInterval(this.sweepTimer);
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.clearQueues.values(), this.deadlineQueue, this.refundQueue].filter(Boolean).map((q) => q.close()));
  }

  async enqueueClearing(operationId: string): Promise<void> {
    const view = await this.store.view(operationId);
    const queue = view && this.clearQueues.get(view.payment.chain_id);
    if (!queue) throw new Error(`no clearing queue for operation ${operationId}`);
    await queue.add('clear', { operationId }, { jobId: operationId });
  }

  async enqueueRefund(operationId: string, reason: 'failure' | 'excess'): Promise<void> {
    const refundId = await this.store.createRefund(operationId, reason);
    if (refundId) await this.queueRefund(refundId);
  }

  /** One job per refund row (job id = refund id): queued twice, paid once. */
  private async queueRefund(refundId: string): Promise<void> {
    await this.refundQueue.add('refund', { refundId }, { jobId: refundId });
  }

  /** Relays the operation's unresolved packets, grouped by channel, then waits (as a deadline) for ingest to see them. */
  private async clear(job: Job<OperationJob>): Promise<void> {
    const { operationId } = job.data;
    const view = await this.store.view(operationId);
    if (!view || (view.state !== 'paid' && view.state !== 'clearing')) return;
    // Packets someone already cleared count at once (their events may have come before the payment).
    if ((await this.store.markResolvedFromPacketTables(operationId)) > 0 && (await this.settle(operationId)) === 'completed') return;
    if (view.state === 'paid') await this.clearing.transition(operationId, ['paid'], 'clearing');
    await this.relay(operationId, await this.store.pendingPackets(operationId));
    const due = await this.queueDeadline(operationId);
    await this.scheduleCheck(operationId, 1, due);
    m.jobs.inc({ queue: 'clearing', outcome: 'relayed' });
  }

  /** The operation's deadline, CLEARING_DEADLINE_SECONDS from now (job id per operation); returns when it is due. */
  private async queueDeadline(operationId: string): Promise<number> {
    const delay = this.env.CLEARING_DEADLINE_SECONDS * 1000;
    const due = Date.now() + delay;
    await this.deadlineQueue.add('deadline', { operationId, due }, { jobId: `deadline-${operationId}`, delay });
    return due;
  }

  /** Hands packets of the operation to the relayer, one call per channel, and marks them relayed. */
  private async relay(operationId: string, pending: PacketId[]): Promise<void> {
    const byChannel = new Map<string, typeof pending>();
    for (const p of pending) {
      const k = `${p.src_chain_id}\u0000${p.src_port}\u0000${p.src_channel}`;
      byChannel.set(k, [...(byChannel.get(k) ?? []), p]);
    }
    for (const group of byChannel.values()) {
      const first = group[0]!;
      try {
        await this.relayer.clear({ srcChainId: first.src_chain_id, srcPort: first.src_port, srcChannel: first.src_channel, sequences: group.map((p) => p.sequence) });
      } catch (e) {
        m.jobs.inc({ queue: 'clearing', outcome: 'relayer_error' });
        if (e instanceof RelayerError && !e.transient) throw new UnrecoverableError(e.message);
        throw e;
      }
      await this.store.markRelayed(operationId, group);
    }
  }

  /** A check CLEARING_RELAY_CHECK_SECONDS from now, if there is time for another relay before the deadline. */
  private async scheduleCheck(operationId: string, round: number, due: number): Promise<void> {
    const delay = this.env.CLEARING_RELAY_CHECK_SECONDS * 1000;
    if (round > this.env.CLEARING_RELAY_ROUNDS || Date.now() + delay >= due) return;
    await this.deadlineQueue.add('check', { operationId, due, round }, { jobId: `check-${operationId}-${round}`, delay });
  }

  /**
   * A relayer's word is not proof (Hermes prints `status: success` after failing to submit): the packets count as
   * cleared only once ingest has seen them on chain. Those not seen a few blocks after the relayer returned are
   * relayed again, while the deadline leaves time, instead of waiting for the deadline to refund.
   */
  private async check(job: Job<OperationJob>): Promise<void> {
    const { operationId, due, round = 1 } = job.data;
    await this.store.markResolvedFromPacketTables(operationId);
    if ((await this.settle(operationId)) === 'completed') return;
    const view = await this.store.view(operationId);
    if (!view || view.state !== 'clearing') return;
    const pending = await this.store.pendingPackets(operationId);
    if (pending.length === 0) return;
    this.logger.warn(`clearing ${operationId}: ${pending.length} packet(s) not seen on chain ${this.env.CLEARING_RELAY_CHECK_SECONDS} s after the relayer returned; relaying them again (round ${round})`);
    m.jobs.inc({ queue: 'clearing', outcome: 'relayed_again' });
    try {
      await this.relay(operationId, pending);
    } catch (e) {
      // The deadline still judges the operation; a relayer failing now is only logged.
      this.logger.warn(`clearing ${operationId}: relaying again failed: ${(e as Error).message}`);
    }
    if (due !== undefined) await this.scheduleCheck(operationId, round + 1, due);
  }

  /**
   * Out of attempts (or a permanent failure): the operation fails and its payment goes back, through a deadline job
   * due now rather than here, so that the database being down at this moment cannot leave a paid operation without a
   * job; and that job first counts packets ingest has seen cleared after all.
   */
  private async onClearFailed(job: Job<OperationJob> | undefined, err: Error): Promise<void> {
    if (!job || err instanceof DelayedError) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    this.logger.warn(`clearing ${job.data.operationId} attempt ${job.attemptsMade} failed: ${err.message}${final ? ' (giving up)' : ''}`);
    if (final) {
      const { operationId } = job.data;
      await this.deadlineQueue.add('deadline', { operationId, reason: `relaying failed: ${err.message}`, due: Date.now() }, { jobId: `failed-${operationId}` });
    }
  }

  /**
   * Fails the operation unless ingest has seen every packet resolved — but only once ingest has committed, on each
   * chain where a packet would resolve, the blocks up to the deadline: a receipt that landed in time but is not
   * ingested yet (ingest or NATS down, or behind) must not turn a cleared packet into a failure and a refund. It
   * waits so for at most CLEARING_DEADLINE_GRACE_SECONDS past the deadline, then judges on what ingest has seen.
   */
  private async deadline(job: Job<OperationJob>, token: string | undefined): Promise<void> {
    const { operationId, reason } = job.data;
    await this.store.markResolvedFromPacketTables(operationId);
    if ((await this.settle(operationId)) === 'completed') return;
    const view = await this.store.view(operationId);
    if (!view || (view.state !== 'paid' && view.state !== 'clearing')) return;
    const due = job.data.due ?? job.timestamp + (job.opts.delay ?? 0);
    if (token !== undefined && Date.now() < due + this.env.CLEARING_DEADLINE_GRACE_SECONDS * 1000) {
      const behind = await this.store.chainsNotIngestedUntil(operationId, new Date(due));
      if (behind.length > 0) {
        const first = !job.data.waitedForIngest;
        if (first) this.logger.warn(`clearing ${operationId}: its deadline waits until ingest has seen ${behind.join(', ')} up to ${new Date(due).toISOString()}`);
        m.jobs.inc({ queue: 'deadline', outcome: 'ingest_wait' });
        return putBack(job, token, Math.min(30_000, Math.max(1_000, this.env.CLEARING_DEADLINE_SECONDS * 100)), first ? { waitedForIngest: true } : {});
      }
    }
    await this.fail(operationId, reason ?? `not every packet was seen cleared on chain within ${this.env.CLEARING_DEADLINE_SECONDS} s`);
  }

  /**
   * Runs a job; when it finds the database unreachable, puts it back to run again later (doubling from
   * CLEARING_BACKOFF_MS up to a minute) without spending an attempt, for as long as the outage lasts.
   */
  private async unlessDatabaseDown<J extends WaitsForDatabase>(queue: string, job: Job<J>, token: string | undefined, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      if (!isConnectionError(e) || token === undefined) throw e;
      const waits = (job.data.dbWaits ?? 0) + 1;
      const delay = Math.min(DATABASE_WAIT_MAX_MS, this.env.CLEARING_BACKOFF_MS * 2 ** Math.min(waits - 1, 20));
      m.jobs.inc({ queue, outcome: 'database_wait' });
      this.logger.warn(`${job.queueName} job ${job.id} waits ${delay} ms for the database (${waits}): ${(e as Error).message}`);
      return putBack(job, token, delay, { dbWaits: waits } as Partial<J>);
    }
  }

  async fail(operationId: string, reason: string): Promise<void> {
    if (await this.clearing.transition(operationId, ['paid', 'clearing'], 'failed', reason)) m.jobs.inc({ queue: 'clearing', outcome: 'failed' });
    const view = await this.store.view(operationId);
    if (view?.state === 'failed') await this.enqueueRefund(operationId, 'failure');
  }

  /** Signs the refund if it has no live signed transaction, and hands it to the node, under the wallet's lock. */
  private submitRefund(row: RefundRow, wallet: HotWallet, stored: SignedTx | undefined): Promise<SignedTx> {
    return this.store.withHotWallet(row.chain_id, wallet.address, async (next) => {
      let current = stored;
      let atLeast = next;
      for (let attempt = 0; attempt < 3; attempt++) {
        if (!current) {
          const fresh = await wallet.signSend(row.recipient, BigInt(row.amount), row.denom, row.operation_id ? `Unstuck refund (${row.reason}) for clearing ${row.operation_id}` : `Unstuck refund (${row.reason}) of payment ${row.payment_tx_hash}`, atLeast);
          // Stored (committed) before it is broadcast: a crash after the broadcast finds these bytes, never signs others.
          await this.store.saveSignedRefund(row.id, fresh.hash, fresh.bytes);
          const saved = await this.store.refund(row.id);
          current = { bytes: new Uint8Array(saved!.signed_tx!), hash: saved!.tx_hash! };
        }
        await this.store.setRefundStatus(row.id, 'broadcast');
        const handed = await wallet.submit(current);
        if (handed.outcome === 'accepted') return { result: current, nextSequence: HotWallet.sequenceOf(current) + 1n };
        // Refused for its sequence. A block may hold these very bytes already (the node's tx index lagging): then
        // they are the refund; else they can never land, and the refund is signed anew for the sequence expected.
        if (await wallet.waitIncluded(current.hash, REFUND_INDEX_GRACE_MS)) return { result: current };
        m.refunds.inc({ reason: row.reason, outcome: 'resigned' });
        this.logger.warn(`refund ${row.id}: ${current.hash} refused (${handed.log}) and in no block; signed again`);
        await this.store.abandonSignedRefund(row.id, current.hash);
        current = undefined;
        atLeast = handed.expected;
      }
      throw new Error(`refund ${row.id}: the node kept refusing its sequence`);
    });
  }

  /** Recounts an operation's progress and announces it. */
  async settle(operationId: string): Promise<'completed' | 'progress' | 'unchanged'> {
    const settled = await this.store.settleProgress(operationId);
    if (settled.outcome !== 'unchanged') await this.clearing.announce(operationId, settled.previous);
    if (settled.outcome === 'completed') m.jobs.inc({ queue: 'clearing', outcome: 'completed' });
    return settled.outcome;
  }

  /**
   * Signs (stored before it is broadcast), hands to the node and confirms one refund. Signing and handing over run
   * under the hot wallet's lock in PostgreSQL, one refund at a time per wallet, with the sequence tracked there:
   * concurrent refunds get consecutive sequences instead of the same one. Signed bytes refused for their sequence
   * that no block holds (after a few blocks' grace, for a node whose tx index lags) can never land: they are kept as
   * abandoned and the refund is signed again. Bytes a block already holds are never signed again.
   */
  private async refund(job: Job<RefundJob>): Promise<void> {
    const row = await this.store.refund(job.data.refundId);
    if (!row || row.refund_status === 'confirmed') return;
    const chain = this.chains.get(row.chain_id);
    if (!chain) throw new UnrecoverableError(`no hot wallet on ${row.chain_id}`);
    const stored: SignedTx | undefined = row.signed_tx && row.tx_hash ? { bytes: new Uint8Array(row.signed_tx), hash: row.tx_hash } : undefined;
    // Broadcast before a crash? Then it may be in a block already: look it up before anything else.
    let result = stored && row.refund_status === 'broadcast' ? await chain.wallet.find(stored.hash) : null;
    let signed = stored;
    if (!result) {
      signed = await this.submitRefund(row, chain.wallet, stored);
      result = await chain.wallet.waitIncluded(signed.hash, REFUND_INCLUSION_MS);
      if (!result) throw new Error(`refund ${row.id}: transaction ${signed.hash} is in no block after ${REFUND_INCLUSION_MS} ms; it is looked up again`);
    }
    if (result.code !== 0) {
      await this.store.setRefundStatus(row.id, 'failed', `refund transaction ${signed!.hash} failed on chain with code ${result.code}`);
      m.refunds.inc({ reason: row.reason, outcome: 'failed' });
      throw new UnrecoverableError(`refund ${row.id} failed on chain (code ${result.code})`);
    }
    await this.store.setRefundStatus(row.id, 'confirmed');
    m.refunds.inc({ reason: row.reason, outcome: 'confirmed' });
    this.logger.log(`refund ${row.id} (${row.reason}, ${row.amount}${row.denom} to ${row.recipient}) confirmed in ${signed!.hash}`);
    if (!row.operation_id) return;
    if (row.reason === 'failure') await this.clearing.transition(row.operation_id, ['failed'], 'refunded');
    else await this.clearing.announce(row.operation_id, null);
  }
}

/** Whether the queue holds the job waiting, delayed, running or about to run. */
async function liveJob(queue: Queue, id: string): Promise<boolean> {
  const job = await queue.getJob(id);
  if (!job) return false;
  const state = await job.getState();
  return state !== 'completed' && state !== 'failed' && state !== 'unknown';
}

/** A finished job keeps its id (removeOnComplete keeps the last 1,000): it is removed so the id can be queued again. */
async function removeFinished(queue: Queue, id: string): Promise<void> {
  const job = await queue.getJob(id);
  if (job && ['completed', 'failed'].includes(await job.getState())) await job.remove();
}
