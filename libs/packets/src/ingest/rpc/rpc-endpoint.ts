import { metric } from '@unstuck/observability';
import { createBreaker, HttpError, KeepAliveHttpClient } from '@unstuck/resilience';
import { RpcAnswerError, utf8, type JsonRpcResponse } from '../blocks-answer';
import type { ClassifiedRpcError } from './rpc-errors';

/** What `/status` said of an endpoint when it was last asked. */
export interface EndpointHealth {
  network: string;
  version: string;
  latestHeight: number;
  latestTime: string;
  earliestHeight: number;
  catchingUp: boolean;
  txIndex: boolean;
  checkedAt: number;
}

export interface EndpointOptions {
  timeoutMs: number;
  /** Requests per second this endpoint may be sent (public nodes limit each client); 0 = no budget. */
  requestsPerSecond: number;
  /** Requests in one JSON-RPC batch until the node says its limit. */
  maxBatchRequests: number;
  /** HTTP requests in flight at once. */
  concurrency: number;
  /** Answers larger than this are refused and the batch halved. */
  maxAnswerBytes: number;
}

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: number;
  method: string;
  params: Record<string, unknown>;
}

const m = {
  requests: metric.counter({ name: 'comet_rpc_requests_total', help: 'HTTP requests sent to a CometBFT RPC endpoint', labelNames: ['chain_id', 'endpoint'] }),
  errors: metric.counter({
    name: 'comet_rpc_errors_total',
    help: 'failed CometBFT RPC requests by class (batch_limit, too_large, rate_limited, height_unavailable, results_missing, behind, endpoint, transient)',
    labelNames: ['chain_id', 'endpoint', 'class'],
  }),
  latency: metric.histogram({
    name: 'comet_rpc_request_seconds',
    help: 'time from sending a CometBFT RPC request to its full answer',
    labelNames: ['chain_id', 'endpoint'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  batch: metric.gauge({ name: 'comet_rpc_batch_requests', help: 'requests per JSON-RPC batch an endpoint is sent now', labelNames: ['chain_id', 'endpoint'] }),
  healthy: metric.gauge({ name: 'comet_rpc_endpoint_healthy', help: '1 while an endpoint can be chosen (same network, synced, not backing off)', labelNames: ['chain_id', 'endpoint'] }),
  chosen: metric.counter({ name: 'comet_rpc_endpoint_chosen_total', help: 'times an endpoint was chosen for a span of heights', labelNames: ['chain_id', 'endpoint'] }),
};

/** `"error":{"code":` as bytes: how every JSON-RPC error in an answer starts (CometBFT's Go encoder, field order fixed). */
const ERROR_MARK = Buffer.from('"error":{"code":');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A requests-per-second budget as a token bucket holding half a second's worth: sustained rate `perSecond`, bursts
 * small enough that a node limiting at the same rate (its own bucket, filled by time as ours is) never refuses us.
 */
export class RequestBudget {
  private tokens: number;
  private at = Date.now();
  private queue: Promise<void> = Promise.resolve();
  private readonly capacity: number;

  constructor(private readonly perSecond: number) {
    this.capacity = Math.max(1, Math.floor(perSecond / 2));
    this.tokens = this.capacity;
  }

  /** Resolves when a request may be sent (in call order). */
  take(): Promise<void> {
    if (this.perSecond <= 0) return Promise.resolve();
    const turn = this.queue.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        await sleep(Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
        this.refill();
      }
      this.tokens -= 1;
    });
    this.queue = turn;
    return turn;
  }

  /** After a 429: nothing more until `ms` have passed, then the bucket refills from empty. */
  hold(ms: number): void {
    if (this.perSecond <= 0) return;
    this.refill();
    this.tokens = Math.min(this.tokens, 0) - (ms / 1000) * this.perSecond;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }
}

/**
 * One CometBFT RPC endpoint of a chain: its connection pool, request budget, the batch size it accepts (learned
 * from its refusals), what `/status` last said of it, its latency, and whether it is backing off.
 */
export class RpcEndpoint {
  readonly label: string;
  health: EndpointHealth | undefined;
  /** Set when /status named another network: never chosen again. */
  wrongNetwork: string | undefined;
  /** Requests per batch now: the node's learned limit, or less after timeouts and oversized answers. */
  batchRequests: number;
  /** The node's max_request_batch_size, once it has refused a batch. */
  learnedLimit: number | undefined;
  /** No results below this height (discard_abci_responses). */
  resultsFrom = 0;
  /** Not chosen before this time (ms since the epoch): backing off after failures, or Retry-After. */
  unavailableUntil = 0;
  failures = 0;
  /** Exponentially weighted answer time, ms. */
  latencyMs = 0;
  inFlight = 0;
  private readonly http: KeepAliveHttpClient;
  private readonly post: (body: unknown) => Promise<Uint8Array<ArrayBuffer>>;
  private readonly budget: RequestBudget;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly chainId: string,
    readonly url: string,
    readonly options: EndpointOptions,
  ) {
    this.label = endpointLabel(url);
    this.batchRequests = Math.max(1, options.maxBatchRequests);
    this.budget = new RequestBudget(options.requestsPerSecond);
    this.http = new KeepAliveHttpClient({
      connections: Math.max(2, options.concurrency),
      requestTimeoutMs: options.timeoutMs,
      connectTimeoutMs: Math.min(5_000, options.timeoutMs),
      maxResponseBytes: options.maxAnswerBytes,
    });
    // A dead endpoint fails fast instead of piling up connection timeouts; a 429 is the node's budget, not a
    // failure (it is waited out by Retry-After), and the HTTP client's own timeouts apply.
    this.post = createBreaker(`rpc:${chainId}:${this.label}`, (body: unknown) => this.http.postBytes(this.url, body), {
      timeoutMs: false,
      resetTimeoutMs: 5_000,
      volumeThreshold: 3,
      errorThresholdPercentage: 50,
      isCallerError: (e) => e instanceof HttpError && e.status === 429,
    }).fire;
    m.batch.set({ chain_id: chainId, endpoint: this.label }, this.batchRequests);
    m.healthy.set({ chain_id: chainId, endpoint: this.label }, 1);
  }

  /** Whether it may be chosen now. */
  usable(now = Date.now()): boolean {
    return !this.wrongNetwork && !this.health?.catchingUp && this.unavailableUntil <= now;
  }

  /** Whether it may hold `height`, by what it said last (unknown counts as maybe). */
  mayHave(height: number): boolean {
    if (height < this.resultsFrom) return false;
    return this.health === undefined || this.health.earliestHeight <= height;
  }

  chosen(): void {
    m.chosen.inc({ chain_id: this.chainId, endpoint: this.label });
  }

  /**
   * Sends `requests` (one request alone, several as a batch) and returns the answer's bytes, unparsed. An answer
   * carrying a JSON-RPC error (the batch refused, or one request failed) throws it as an RpcAnswerError.
   */
  async send(requests: readonly JsonRpcRequest[]): Promise<Uint8Array<ArrayBuffer>> {
    await this.slot();
    const started = Date.now();
    try {
      await this.budget.take();
      m.requests.inc({ chain_id: this.chainId, endpoint: this.label });
      const body = await this.post(requests.length === 1 ? requests[0] : requests);
      const elapsed = Date.now() - started;
      this.latencyMs = this.latencyMs === 0 ? elapsed : this.latencyMs * 0.8 + elapsed * 0.2;
      m.latency.observe({ chain_id: this.chainId, endpoint: this.label }, elapsed / 1000);
      if (Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(ERROR_MARK) >= 0) throwAnswerError(this.url, body, requests);
      return body;
    } finally {
      this.release();
    }
  }

  /** One call's result. */
  async call<T>(method: string, params: Record<string, unknown>, id: number): Promise<T> {
    const body = await this.send([{ jsonrpc: '2.0', id, method, params }]);
    let r: JsonRpcResponse<T> | Array<JsonRpcResponse<T>>;
    try {
      r = JSON.parse(utf8(body)) as typeof r;
    } catch {
      throw new RpcAnswerError(method, `invalid JSON from ${this.url}: ${utf8(body).slice(0, 100)}`, true);
    }
    const one = Array.isArray(r) ? r[0] : r;
    if (!one || one.result === undefined) throw new RpcAnswerError(method, `no result from ${this.url}`, true);
    return one.result;
  }

  /** Asks /status and keeps what it says; a node of another network is never chosen again. */
  async checkHealth(id: number): Promise<EndpointHealth> {
    const r = await this.call<{
      node_info: { network: string; version: string; other?: { tx_index?: string } };
      sync_info: { latest_block_height: string; latest_block_time: string; earliest_block_height: string; catching_up: boolean };
    }>('status', {}, id);
    this.health = {
      network: r.node_info.network,
      version: r.node_info.version,
      latestHeight: Number(r.sync_info.latest_block_height),
      latestTime: r.sync_info.latest_block_time,
      earliestHeight: Number(r.sync_info.earliest_block_height || 1),
      catchingUp: r.sync_info.catching_up === true,
      txIndex: r.node_info.other?.tx_index !== 'off',
      checkedAt: Date.now(),
    };
    if (this.health.network !== this.chainId) this.wrongNetwork = this.health.network;
    this.updateHealthyGauge();
    return this.health;
  }

  /** What a failure says about this endpoint: batch size learned or halved, backoff, Retry-After, pruning. */
  learn(c: ClassifiedRpcError, requestsSent: number): void {
    m.errors.inc({ chain_id: this.chainId, endpoint: this.label, class: c.class });
    switch (c.class) {
      case 'batch_limit':
        this.learnedLimit = c.limit;
        this.setBatch(Math.min(this.batchRequests, c.limit ?? 1));
        return;
      case 'too_large':
        this.setBatch(Math.max(1, Math.floor(Math.min(this.batchRequests, requestsSent) / 2)));
        if (requestsSent <= 1) this.backOff();
        return;
      case 'rate_limited': {
        const wait = c.retryAfterMs ?? 1_000;
        this.budget.hold(wait);
        this.unavailableUntil = Math.max(this.unavailableUntil, Date.now() + wait);
        this.updateHealthyGauge();
        return;
      }
      case 'height_unavailable':
        if (this.health && c.lowest !== undefined) this.health.earliestHeight = Math.max(this.health.earliestHeight, c.lowest);
        else if (c.lowest !== undefined) this.resultsFrom = Math.max(this.resultsFrom, c.lowest);
        return;
      case 'results_missing':
        if (c.height !== undefined) this.resultsFrom = Math.max(this.resultsFrom, c.height + 1);
        return;
      case 'behind':
        if (this.health && c.head !== undefined) this.health.latestHeight = c.head;
        return;
      case 'endpoint':
      case 'transient':
        this.backOff();
        return;
    }
  }

  /** A request went through: failures are forgotten. */
  succeeded(): void {
    if (this.failures === 0) return;
    this.failures = 0;
    this.unavailableUntil = 0;
    this.updateHealthyGauge();
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private backOff(): void {
    this.failures += 1;
    // 0.5 s, 1 s, 2 s … up to 30 s, with jitter, before it is chosen again.
    const bound = Math.min(30_000, 500 * 2 ** (this.failures - 1));
    this.unavailableUntil = Date.now() + bound / 2 + Math.random() * (bound / 2);
    this.updateHealthyGauge();
  }

  private setBatch(n: number): void {
    this.batchRequests = n;
    m.batch.set({ chain_id: this.chainId, endpoint: this.label }, n);
  }

  private updateHealthyGauge(): void {
    m.healthy.set({ chain_id: this.chainId, endpoint: this.label }, this.usable() ? 1 : 0);
  }

  private async slot(): Promise<void> {
    while (this.inFlight >= this.options.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight += 1;
  }

  private release(): void {
    this.inFlight -= 1;
    this.waiting.shift()?.();
  }
}

/** host[:port][/path] of a URL, without credentials or query (an API key in a URL must not reach logs or labels). */
export function endpointLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'invalid-url';
  }
}

/** The first JSON-RPC error in an answer, as an RpcAnswerError naming its method (or `batch` for the whole batch). */
function throwAnswerError(url: string, body: Uint8Array, requests: readonly JsonRpcRequest[]): void {
  let parsed: JsonRpcResponse<unknown> | Array<JsonRpcResponse<unknown>>;
  try {
    parsed = JSON.parse(utf8(body)) as typeof parsed;
  } catch {
    throw new RpcAnswerError('batch', `invalid JSON from ${url}: ${utf8(body).slice(0, 100)}`, true);
  }
  for (const r of Array.isArray(parsed) ? parsed : [parsed]) {
    if (!r?.error) continue;
    const method = r.id === undefined || r.id === null ? 'batch' : (requests.find((q) => q.id === r.id)?.method ?? 'batch');
    throw new RpcAnswerError(method, r.error.data || r.error.message);
  }
}
