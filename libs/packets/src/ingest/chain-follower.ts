import { Logger } from '@nestjs/common';
import { headers as natsHeaders } from '@nats-io/nats-core';
import WebSocket from 'ws';
import { DEAD_LETTER_HEADERS, deadLetterSubject } from '@unstuck/contracts';
import type { EventPublisher, JetStreamConnection } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import { backoffDelay } from '@unstuck/resilience';
import type { ParseProblem } from '../parsing/block';
import type { GroupCommitter, PacketStore } from '../store/packet-store';
import type { BlockDecoder, DecodedBatch } from './block-decoder';
import type { ChainConfig } from './chains-config';
import type { ChannelResolver } from './channel-resolver';
import type { CometRpcClient } from './comet-rpc-client';
import { HeightsUnavailableError } from './rpc/rpc-errors';

/** Blocks the committed height may be above every endpoint's head before it is reported loudly. */
const AHEAD_TOLERANCE = 5;
const SUBSCRIPTION_ID = 1;
/** /status is asked at least once per this many poll intervals even while the subscription gives the head. */
const STATUS_MAX_AGE_POLLS = 5;

/** What a message on the new-block websocket is. */
export function readWsMessage(text: string):
  | { kind: 'subscribed' }
  | { kind: 'event'; height?: number }
  | { kind: 'refused'; reason: 'max_subscriptions' | 'cancelled' | 'other'; detail: string }
  | { kind: 'other' } {
  let msg: { id?: unknown; result?: { data?: unknown }; error?: { code?: number; message?: string; data?: string } };
  try {
    msg = JSON.parse(text) as typeof msg;
  } catch {
    return { kind: 'other' };
  }
  if (msg.error) {
    const detail = msg.error.data || msg.error.message || 'error';
    if (/max_subscriptions_per_client|max_subscription_clients/.test(detail)) return { kind: 'refused', reason: 'max_subscriptions', detail };
    if (/subscription was cancell?ed/.test(detail)) return { kind: 'refused', reason: 'cancelled', detail };
    // An error to our subscribe request is a refusal, whatever it says.
    if (msg.id === SUBSCRIPTION_ID) return { kind: 'refused', reason: 'other', detail };
    return { kind: 'other' };
  }
  if (msg.result && typeof msg.result === 'object') {
    if (msg.result.data === undefined) return { kind: 'subscribed' };
    const value = (msg.result.data as { value?: { header?: { height?: string }; block?: { header?: { height?: string } } } }).value;
    const height = Number(value?.header?.height ?? value?.block?.header?.height);
    return Number.isSafeInteger(height) && height > 0 ? { kind: 'event', height } : { kind: 'event' };
  }
  return { kind: 'other' };
}

export interface FollowerOptions {
  /** Heights fetched per JSON-RPC batch. */
  batchBlocks: number;
  /** How often to ask for the head while the websocket is down (and, as a safety net, while it is up × 5). */
  pollIntervalMs: number;
  /** Pause after an RPC failure grows from this. */
  retryInitialMs: number;
  retryMaxMs: number;
}

const m = {
  head: metric.gauge({ name: 'ingest_head_height', help: 'latest height the chain reports', labelNames: ['chain_id'] }),
  committed: metric.gauge({ name: 'ingest_committed_height', help: 'last height whose events are committed', labelNames: ['chain_id'] }),
  lagBlocks: metric.gauge({ name: 'ingest_lag_blocks', help: 'head − committed height', labelNames: ['chain_id'] }),
  lagSeconds: metric.gauge({ name: 'ingest_lag_seconds', help: 'now − block time of the last committed height', labelNames: ['chain_id'] }),
  events: metric.counter({ name: 'ingest_events_total', help: 'packet events ingested', labelNames: ['chain_id', 'event'] }),
  blocks: metric.counter({ name: 'ingest_blocks_total', help: 'blocks ingested', labelNames: ['chain_id'] }),
  problems: metric.counter({ name: 'ingest_problems_total', help: 'malformed events and txs, dead-lettered', labelNames: ['chain_id', 'reason'] }),
  unsupported: metric.counter({
    name: 'ingest_unsupported_total',
    help: 'packet traffic ingest does not track yet, by reason (ibc_v2, ics20_v2_multi_token); never dead-lettered',
    labelNames: ['chain_id', 'reason'],
  }),
  reconnects: metric.counter({ name: 'ingest_ws_reconnects_total', help: 'websocket reconnects', labelNames: ['chain_id'] }),
  wsRefused: metric.counter({
    name: 'ingest_ws_subscription_refused_total',
    help: 'new-block subscriptions the node refused or cancelled (max_subscriptions_per_client, slow client); ingest polls meanwhile',
    labelNames: ['chain_id', 'reason'],
  }),
  wsSubscribed: metric.gauge({ name: 'ingest_ws_subscribed', help: '1 while a new-block subscription is confirmed by the node, else ingest polls', labelNames: ['chain_id'] }),
  skipped: metric.counter({
    name: 'ingest_skipped_heights_total',
    help: 'heights no RPC endpoint had any more (pruned, or no results kept), recorded in ingest_gaps and skipped',
    labelNames: ['chain_id', 'reason'],
  }),
  ahead: metric.gauge({
    name: 'ingest_cursor_ahead_blocks',
    help: 'how far the committed height is above every endpoint head (wrong node, or a chain restarted from genesis); 0 normally',
    labelNames: ['chain_id'],
  }),
  stage: metric.histogram({
    name: 'ingest_stage_seconds',
    help: 'time per batch in each ingest stage (fetch, parse, publish, commit)',
    labelNames: ['chain_id', 'stage'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  latency: metric.histogram({
    name: 'ingest_block_to_commit_seconds',
    help: 'block time → row committed',
    labelNames: ['chain_id'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
  }),
};

/**
 * Follows one chain: resumes from its committed height (or start_height, or the head), catches up in batches,
 * then follows new blocks announced on the websocket, polling when the websocket is down. Heights are processed
 * strictly in order from the committed cursor, so a gap (an RPC outage, a missed notification) is simply the next
 * span to fetch. Events are published to JetStream before the rows and the cursor commit: a crash in between
 * re-publishes them with the same message ids, which JetStream drops as duplicates.
 */
export class ChainFollower {
  private readonly logger: Logger;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private ws: WebSocket | undefined;
  private wsUp = false;
  /** The height of the last NewBlockHeader the subscription delivered. */
  private wsHead = 0;
  private lastStatus: { latestHeight: number; at: number } | undefined;
  private wsAttempts = 0;
  private wsTimer: NodeJS.Timeout | undefined;
  private base64: boolean | undefined;
  private failures = 0;

  constructor(
    private readonly config: ChainConfig,
    private readonly rpc: CometRpcClient,
    private readonly store: PacketStore,
    private readonly writer: GroupCommitter,
    private readonly publisher: EventPublisher,
    private readonly connection: JetStreamConnection,
    private readonly decoder: BlockDecoder,
    private readonly options: FollowerOptions,
    /** Reads channels no directory knows from chain state; without it they stay unknown. */
    private readonly channels?: ChannelResolver,
  ) {
    this.logger = new Logger(`Follower:${config.chain_id}`);
    if (config.comet_version) this.base64 = config.comet_version === '0.34';
  }

  get chainId(): string {
    return this.config.chain_id;
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.connectWebSocket();
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wsTimer);
    this.ws?.terminate();
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  private async loop(): Promise<void> {
    let next: number | undefined;
    while (!this.stopped) {
      try {
        const status = await this.head();
        if (status.chainId !== this.chainId) {
          throw new Error(`the node at ${this.config.rpc} serves ${status.chainId}, not ${this.chainId}`);
        }
        m.head.set({ chain_id: this.chainId }, status.latestHeight);
        // CometBFT 0.34 base64-encodes event attributes; the node says its version (comet_version overrides).
        if (this.base64 === undefined && /^v?0\.\d+/.test(status.version)) this.base64 = /^v?0\.34\./.test(status.version);
        next ??= await this.resumeHeight(status.latestHeight);
        const ahead = next - 1 - status.latestHeight;
        m.ahead.set({ chain_id: this.chainId }, Math.max(0, ahead));
        if (ahead > AHEAD_TOLERANCE) {
          this.logger.error(
            `committed height ${next - 1} is ${ahead} blocks above the head of every endpoint (${status.latestHeight}): a node of another chain or a restarted chain? Nothing is ingested until the endpoints reach it.`,
          );
        }
        next = await this.catchUp(next, status.latestHeight);
        this.failures = 0;
        m.lagBlocks.set({ chain_id: this.chainId }, Math.max(0, status.latestHeight - (next - 1)));
        await this.waitForBlock(this.wsUp ? this.options.pollIntervalMs * 5 : this.options.pollIntervalMs);
      } catch (e) {
        if (this.stopped) break;
        this.failures += 1;
        const delay = backoffDelay(this.failures, this.options.retryInitialMs, this.options.retryMaxMs);
        this.logger.warn(`ingest paused for ${delay} ms: ${(e as Error).message}`);
        await this.waitForBlock(delay, false);
      }
    }
  }

  /**
   * The chain's head: from the subscription's last header while it is confirmed and /status was asked less than
   * STATUS_MAX_AGE_POLLS poll intervals ago (a block then costs one request, not two), else from /status.
   */
  private async head(): Promise<{ chainId: string; latestHeight: number; version: string }> {
    const last = this.lastStatus;
    if (this.wsUp && last && this.wsHead > last.latestHeight && Date.now() - last.at < this.options.pollIntervalMs * STATUS_MAX_AGE_POLLS) {
      return { chainId: this.chainId, latestHeight: this.wsHead, version: '' };
    }
    const status = await this.rpc.status();
    this.lastStatus = { latestHeight: status.latestHeight, at: Date.now() };
    return status;
  }

  private async resumeHeight(head: number): Promise<number> {
    const committed = await this.store.cursor(this.chainId);
    if (committed !== undefined) return Number(committed) + 1;
    return this.config.start_height ?? head;
  }

  /**
   * Ingests [from, to] in batches, three deep: the next batch is fetched and decoded while this one is published,
   * and this one is published while the previous one commits. Commits stay in height order, and a batch's events
   * are always published before its rows and cursor commit. Returns the next height once everything is committed.
   */
  private async catchUp(from: number, to: number): Promise<number> {
    let next = from;
    const span = (start: number) => Array.from({ length: Math.min(this.options.batchBlocks, to - start + 1) }, (_, i) => start + i);
    let pending: Promise<DecodedBatch> | undefined = next <= to ? this.fetchAndDecode(span(next)) : undefined;
    let committing: Promise<void> | undefined;
    try {
      while (pending && !this.stopped) {
        let batch: DecodedBatch;
        try {
          batch = await pending;
        } catch (e) {
          if (!(e instanceof HeightsUnavailableError) || e.from !== next) throw e;
          // Heights no endpoint has: recorded once as a gap, the cursor moved past them, never asked for again.
          await committing;
          committing = undefined;
          await this.skipGap(e);
          next = e.to + 1;
          pending = next <= to ? this.fetchAndDecode(span(next)) : undefined;
          continue;
        }
        const after = next + batch.blocks.length;
        pending = after <= to ? this.fetchAndDecode(span(after)) : undefined;
        pending?.catch(() => undefined);
        await this.publishBatch(batch);
        await committing;
        committing = this.commitBlocks(batch);
        next = after;
      }
    } finally {
      // A failed commit surfaces here (or at the next batch's await) and the loop retries from the last committed height.
      committing?.catch(() => undefined);
    }
    await committing;
    return next;
  }

  private async skipGap(gap: HeightsUnavailableError): Promise<void> {
    const recorded = await this.store.recordGap({ chainId: this.chainId, from: gap.from, to: gap.to, reason: gap.reason, detail: gap.message });
    if (!recorded) return;
    m.skipped.inc({ chain_id: this.chainId, reason: gap.reason }, gap.to - gap.from + 1);
    this.logger.error(`skipped heights ${gap.from}–${gap.to} (${gap.to - gap.from + 1} blocks), recorded in ingest_gaps: ${gap.message}`);
  }

  /**
   * One batch of heights from the node, parsed into events (on the decoder's threads). Channels of this chain
   * that no directory knew are asked of chain state; when that teaches something, the batch is fetched and parsed
   * again (once), so its receipts are keyed by their source chain instead of dead-lettered as unknown_counterparty.
   */
  private async fetchAndDecode(heights: number[], askChainState = true): Promise<DecodedBatch> {
    const fetching = m.stage.startTimer({ chain_id: this.chainId, stage: 'fetch' });
    const answer = await this.rpc.blocksAnswer(heights);
    fetching();
    const parsing = m.stage.startTimer({ chain_id: this.chainId, stage: 'parse' });
    const batch = await this.decoder.decode({ chainId: this.chainId, answer, base64: this.base64, learned: this.channels?.learnedFor(this.chainId) });
    parsing();
    this.base64 ??= batch.base64;
    if (askChainState && this.channels && batch.unknownChannels.length > 0) {
      if ((await this.channels.resolve(this.rpc, batch.unknownChannels)) > 0) return this.fetchAndDecode(heights, false);
    }
    return batch;
  }

  /** Publishes a batch's events (and dead-letters its malformed input). */
  private async publishBatch(batch: DecodedBatch): Promise<void> {
    const publishing = m.stage.startTimer({ chain_id: this.chainId, stage: 'publish' });
    // The decoder checked every event against its contract (a violation became a dead letter instead).
    if (batch.events.length) await this.publisher.publishBatch(batch.events, { checked: true });
    if (batch.problems.length) await this.deadLetter(batch.problems);
    if (batch.unsupported.length) this.countUnsupported(batch);
    publishing();
  }

  private unsupportedLoggedAt = 0;

  /** Counted by reason; logged at most once a minute with an example, as it may be every block of a chain. */
  private countUnsupported({ unsupported, blocks }: DecodedBatch): void {
    const counts = new Map<string, number>();
    for (const u of unsupported) counts.set(u.reason, (counts.get(u.reason) ?? 0) + 1);
    for (const [reason, n] of counts) m.unsupported.inc({ chain_id: this.chainId, reason }, n);
    if (Date.now() - this.unsupportedLoggedAt < 60_000) return;
    this.unsupportedLoggedAt = Date.now();
    this.logger.log(
      `${unsupported.length} packet event(s) not tracked yet in heights ${blocks[0]?.height}–${blocks[blocks.length - 1]?.height} (${[...counts].map(([r, n]) => `${r}: ${n}`).join(', ')}), e.g. ${unsupported[0]!.detail}`,
    );
  }

  /** Writes the batch's packet rows and moves the cursor past its blocks, in one transaction. */
  private async commitBlocks({ blocks, events }: DecodedBatch): Promise<void> {
    const last = blocks[blocks.length - 1]!;
    const committing = m.stage.startTimer({ chain_id: this.chainId, stage: 'commit' });
    await this.writer.commit(events, { chainId: this.chainId, height: String(last.height), blockTime: last.time });
    committing();

    const now = Date.now();
    for (const b of blocks) m.latency.observe({ chain_id: this.chainId }, Math.max(0, now - Date.parse(b.time)) / 1000);
    // Counted per event type, then added once per type: prom-client hashes the labels on every call.
    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.event, (counts.get(e.event) ?? 0) + 1);
    for (const [event, n] of counts) m.events.inc({ chain_id: this.chainId, event }, n);
    m.blocks.inc({ chain_id: this.chainId }, blocks.length);
    m.committed.set({ chain_id: this.chainId }, last.height);
    m.lagSeconds.set({ chain_id: this.chainId }, Math.max(0, now - Date.parse(last.time)) / 1000);
  }

  /** Malformed input is logged, counted and kept on the dead-letter subject with its reason; the chain goes on. */
  private async deadLetter(problems: ParseProblem[]): Promise<void> {
    const { js } = await this.connection.get();
    for (const p of problems) {
      m.problems.inc({ chain_id: this.chainId, reason: p.reason });
      this.logger.warn(`malformed input at height ${p.height}${p.txHash ? ` tx ${p.txHash}` : ''}: ${p.reason}: ${p.detail}`);
      const h = natsHeaders();
      h.set(DEAD_LETTER_HEADERS.reason, p.reason);
      h.set(DEAD_LETTER_HEADERS.detail, p.detail.slice(0, 2000));
      h.set(DEAD_LETTER_HEADERS.consumer, 'packet-ingest');
      await js.publish(deadLetterSubject('INGEST', this.chainId), JSON.stringify(p), {
        headers: h,
        msgID: `dlq:ingest:${this.chainId}:${p.height}:${p.txHash ?? '-'}:${p.eventType ?? '-'}:${p.reason}`,
      });
    }
  }

  /** Resolves on the next NewBlock notification, or after `ms`, or on stop. */
  private waitForBlock(ms: number, wakeable = true): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = wakeable ? done : () => (this.stopped ? done() : undefined);
      if (this.stopped) done();
    });
  }

  /**
   * Subscribes to NewBlockHeader (a header, not the whole block a NewBlock event carries) on the preferred
   * endpoint. The follower counts on it only once the node confirmed the subscription; a refusal
   * (max_subscriptions_per_client, max_subscription_clients) or a cancellation ("subscription was canceled",
   * a slow client) is logged and counted, the socket closed, and ingest polls at the poll interval until a
   * reconnect, with backoff, subscribes again.
   */
  private connectWebSocket(): void {
    if (this.stopped) return;
    const url = this.config.ws ?? `${this.rpc.preferredUrl().replace(/^http/, 'ws').replace(/\/$/, '')}/websocket`;
    const ws = new WebSocket(url, { handshakeTimeout: 5_000 });
    this.ws = ws;
    ws.on('open', () => {
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: SUBSCRIPTION_ID, method: 'subscribe', params: { query: "tm.event='NewBlockHeader'" } }));
    });
    ws.on('message', (data) => {
      const message = readWsMessage(String(data));
      if (message.kind === 'event') this.wsHead = Math.max(this.wsHead, message.height ?? 0);
      if (message.kind === 'subscribed') {
        this.wsUp = true;
        this.wsAttempts = 0;
        m.wsSubscribed.set({ chain_id: this.chainId }, 1);
      } else if (message.kind === 'refused') {
        m.wsRefused.inc({ chain_id: this.chainId, reason: message.reason });
        this.logger.warn(`new-block subscription at ${url} ${message.reason === 'cancelled' ? 'cancelled' : 'refused'} by the node (${message.detail}); polling every ${this.options.pollIntervalMs} ms until it subscribes again`);
        this.wsUp = false;
        m.wsSubscribed.set({ chain_id: this.chainId }, 0);
        ws.terminate();
        return;
      }
      this.wake?.();
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.wsUp = false;
      m.wsSubscribed.set({ chain_id: this.chainId }, 0);
      if (this.stopped) return;
      this.wsAttempts += 1;
      m.reconnects.inc({ chain_id: this.chainId });
      // Reconnect with backoff and jitter; meanwhile the loop polls.
      this.wsTimer = setTimeout(() => this.connectWebSocket(), backoffDelay(this.wsAttempts, 500, 30_000));
    });
  }
}
