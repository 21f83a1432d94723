import { Logger } from '@nestjs/common';
import { RpcAnswerError, type BlockResponse, type BlocksAnswer } from './blocks-answer';
import { RpcEndpoint, type EndpointHealth, type JsonRpcRequest } from './rpc/rpc-endpoint';
import { classifyRpcError, HeightsUnavailableError, NoEndpointError } from './rpc/rpc-errors';

export interface ChainStatus {
  chainId: string;
  /** The highest head among the usable endpoints. */
  latestHeight: number;
  latestTime: string;
  /** The lowest height any endpoint still has. */
  earliestHeight: number;
  /** CometBFT version of the endpoint that answered (node_info.version, e.g. 0.38.12). */
  version: string;
}

export interface RpcClientOptions {
  timeoutMs: number;
  /** Tries of one call before its error reaches the caller (each may go to another endpoint). */
  attempts: number;
  /** Budget per endpoint, HTTP requests per second (public nodes limit each client); 0 = none. */
  requestsPerSecond?: number;
  /** Requests in one JSON-RPC batch until a node states its limit (CometBFT's default max_request_batch_size is 10). */
  maxBatchRequests?: number;
  /** HTTP requests in flight per endpoint. */
  concurrency?: number;
  /** How old an endpoint's /status may be before it is asked again. */
  healthIntervalMs?: number;
  /** Answers larger than this are refused and the batch halved. */
  maxAnswerBytes?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * CometBFT RPC for one chain over several endpoints, made for public nodes:
 * - each endpoint has a request budget, a batch size learned from its refusals ("batch request exceeds maximum
 *   (10)" → batches of 10; a timeout or an oversized answer halves it; single requests are the floor), a health
 *   from /status (same network, not catching up, earliest and latest height, tx_index) and a latency;
 * - a span of heights goes to the fastest usable endpoint that still has them; a pruned height goes to one that
 *   has it, and heights no endpoint has are reported once as HeightsUnavailableError, never asked for again;
 * - every failure is classified (rpc-errors.ts): 429 waits its Retry-After on that endpoint while the others
 *   serve, an endpoint that fails backs off and the next one is tried, so the same failing request is never sent
 *   in a loop.
 */
export class CometRpcClient {
  readonly endpoints: RpcEndpoint[];
  private readonly logger: Logger;
  private nextId = 1;
  private readonly healthIntervalMs: number;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly chainId: string,
    urls: string | readonly string[],
    private readonly options: RpcClientOptions,
  ) {
    const list = typeof urls === 'string' ? [urls] : [...urls];
    if (list.length === 0) throw new Error(`${chainId}: no RPC endpoint given`);
    this.logger = new Logger(`Rpc:${chainId}`);
    this.healthIntervalMs = options.healthIntervalMs ?? 10_000;
    this.endpoints = list.map(
      (url) =>
        new RpcEndpoint(chainId, url, {
          timeoutMs: options.timeoutMs,
          requestsPerSecond: options.requestsPerSecond ?? 0,
          maxBatchRequests: options.maxBatchRequests ?? 40,
          concurrency: options.concurrency ?? 4,
          maxAnswerBytes: options.maxAnswerBytes ?? 256 * 1024 * 1024,
        }),
    );
  }

  /** The websocket URL of the endpoint preferred now (the first usable one in the list). */
  preferredUrl(): string {
    return (this.endpoints.find((e) => e.usable()) ?? this.endpoints[0]!).url;
  }

  /**
   * The chain's status across its endpoints: each is asked /status when what it said is older than the health
   * interval (the preferred one every time, so the head is current). Fails when none answers or none serves this
   * chain's network.
   */
  async status(): Promise<ChainStatus> {
    await this.refreshHealth(true);
    const healthy = this.endpoints.filter((e) => e.health && !e.wrongNetwork && !e.health.catchingUp);
    if (healthy.length === 0) {
      const wrong = this.endpoints.find((e) => e.wrongNetwork);
      if (wrong) throw new Error(`the node at ${wrong.label} serves ${wrong.wrongNetwork}, not ${this.chainId}`);
      throw new NoEndpointError(this.chainId, `no endpoint answered /status (${this.endpoints.map((e) => e.label).join(', ')})`);
    }
    const best = healthy.reduce((a, b) => (b.health!.latestHeight > a.health!.latestHeight ? b : a));
    return {
      chainId: this.chainId,
      latestHeight: best.health!.latestHeight,
      latestTime: best.health!.latestTime,
      earliestHeight: Math.min(...healthy.map((e) => e.health!.earliestHeight)),
      version: best.health!.version,
    };
  }

  /** Endpoints with what each last said, for logs and health. */
  describe(): Array<{ endpoint: string; usable: boolean; health: EndpointHealth | undefined; batch: number }> {
    return this.endpoints.map((e) => ({ endpoint: e.label, usable: e.usable(), health: e.health, batch: e.batchRequests }));
  }

  /**
   * /block and /block_results for each height, unparsed (readBlocksAnswer reads it): in as many requests as the
   * endpoints' batch limits need, sent concurrently within their budgets. Throws HeightsUnavailableError when the
   * first heights are on no endpoint any more.
   */
  async blocksAnswer(heights: readonly number[]): Promise<BlocksAnswer> {
    const firstId = this.nextId;
    this.nextId += 2 * heights.length;
    const requests: JsonRpcRequest[] = heights.flatMap((h, i) => [
      { jsonrpc: '2.0' as const, id: firstId + 2 * i, method: 'block', params: { height: String(h) } },
      { jsonrpc: '2.0' as const, id: firstId + 2 * i + 1, method: 'block_results', params: { height: String(h) } },
    ]);
    await this.refreshHealth(false);
    this.checkAvailable(heights[0]!);
    const bodies: Array<Uint8Array<ArrayBuffer>> = [];
    const used = new Set<string>();
    const heightOf = (requestIndex: number) => heights[Math.floor(requestIndex / 2)]!;

    /** Fetches requests [lo, hi), splitting as the chosen endpoint's batch size needs. */
    const fetch = async (lo: number, hi: number, tries: number): Promise<void> => {
      const endpoint = await this.choose(heightOf(lo), heightOf(hi - 1), lo === 0);
      const size = endpoint.batchRequests >= 2 ? endpoint.batchRequests - (endpoint.batchRequests % 2) : 1;
      if (hi - lo > size) {
        const parts: Array<Promise<void>> = [];
        for (let at = lo; at < hi; at += size) parts.push(fetch(at, Math.min(hi, at + size), tries));
        await Promise.all(parts);
        return;
      }
      try {
        bodies.push(await endpoint.send(requests.slice(lo, hi)));
        endpoint.succeeded();
        used.add(endpoint.label);
      } catch (e) {
        const c = classifyRpcError(e);
        endpoint.learn(c, hi - lo);
        // A refused batch is no failed try: it is sent again at the size the node stated.
        const next = c.class === 'batch_limit' ? tries : tries + 1;
        if (next >= this.maxTries()) throw e;
        this.logger.debug(`${endpoint.label}: ${c.class} for heights ${heightOf(lo)}–${heightOf(hi - 1)}: ${firstLine(e)}`);
        if (c.class === 'transient' || c.class === 'behind') await sleep(Math.min(2_000, 100 * 2 ** next));
        await fetch(lo, hi, next);
      }
    };
    await fetch(0, requests.length, 0);
    return { url: [...used].join(', '), heights: [...heights], firstId, bodies };
  }

  /** One transaction by hash with its result, or null when the node has no such transaction. */
  async tx(hash: string): Promise<{ height: string; code: number; tx: string } | null> {
    try {
      const r = await this.single<{ height: string; tx: string; tx_result: { code: number } }>(
        'tx',
        { hash: Buffer.from(hash, 'hex').toString('base64'), prove: false },
        (e) => e.health?.txIndex !== false,
      );
      return { height: r.height, code: r.tx_result.code, tx: r.tx };
    } catch (e) {
      if (e instanceof RpcAnswerError && /not found/i.test(e.data)) return null;
      throw e;
    }
  }

  /**
   * Transactions matching a CometBFT event query (`send_packet.packet_sequence='5' AND …`), oldest first: their
   * hashes and heights. Null when no endpoint indexes transactions (`tx_index = "null"`).
   */
  async txSearch(query: string, perPage = 30): Promise<Array<{ hash: string; height: number }> | null> {
    try {
      const r = await this.single<{ txs: Array<{ hash: string; height: string }>; total_count: string }>(
        'tx_search',
        { query, prove: false, page: '1', per_page: String(perPage), order_by: 'asc' },
        (e) => e.health?.txIndex !== false,
      );
      return r.txs.map((t) => ({ hash: t.hash.toUpperCase(), height: Number(t.height) }));
    } catch (e) {
      if ((e instanceof RpcAnswerError && /indexing is disabled/i.test(e.data)) || e instanceof NoEndpointError) return null;
      throw e;
    }
  }

  /** An ABCI query at the latest height (`data` hex): the application's answer code, log and value bytes. */
  async abciQuery(path: string, dataHex: string): Promise<{ code: number; log: string; value: Uint8Array }> {
    const r = await this.single<{ response: { code?: number; log?: string; value?: string | null } }>('abci_query', { path, data: dataHex, prove: false }, () => true);
    return { code: r.response.code ?? 0, log: r.response.log ?? '', value: Buffer.from(r.response.value ?? '', 'base64') };
  }

  /** A block's header time (RFC 3339). */
  async blockTime(height: string): Promise<string> {
    return (await this.single<BlockResponse>('block', { height }, (e) => e.mayHave(Number(height)))).block.header.time;
  }

  async close(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.close()));
  }

  private maxTries(): number {
    return Math.max(this.options.attempts, 2) + 2 * this.endpoints.length;
  }

  /** One call to a usable endpoint that `fits`, moving to the next on failure. */
  private async single<T>(method: string, params: Record<string, unknown>, fits: (e: RpcEndpoint) => boolean): Promise<T> {
    let last: unknown;
    for (let attempt = 0; attempt < this.maxTries(); attempt++) {
      const now = Date.now();
      const candidates = this.endpoints.filter((e) => e.usable(now) && fits(e)).sort((a, b) => a.latencyMs - b.latencyMs);
      const endpoint = candidates[0] ?? this.endpoints.filter((e) => !e.wrongNetwork && fits(e)).sort((a, b) => a.unavailableUntil - b.unavailableUntil)[0];
      if (!endpoint) throw new NoEndpointError(this.chainId, `no endpoint can answer ${method}`);
      if (endpoint.unavailableUntil > now) await sleep(Math.min(endpoint.unavailableUntil - now, 5_000));
      try {
        const result = await endpoint.call<T>(method, params, this.nextId++);
        endpoint.succeeded();
        return result;
      } catch (e) {
        last = e;
        const c = classifyRpcError(e);
        // An answer about this request (not found, invalid) is the answer: another endpoint would say the same.
        if (e instanceof RpcAnswerError && c.class === 'endpoint' && !e.retryable) throw e;
        endpoint.learn(c, 1);
      }
    }
    throw last;
  }

  /**
   * Asks /status of the endpoints whose health is older than the interval (or never known), and of the preferred
   * one when `current`; concurrent callers share one round.
   */
  private async refreshHealth(current: boolean): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const now = Date.now();
    const preferred = this.endpoints.find((e) => e.usable(now));
    const due = this.endpoints.filter(
      (e) => !e.wrongNetwork && (e.health === undefined || now - e.health.checkedAt > this.healthIntervalMs || (current && e === preferred) || (e.health.catchingUp && e.unavailableUntil <= now)),
    );
    if (due.length === 0) return;
    this.refreshing = Promise.all(
      due.map(async (e) => {
        if (e.unavailableUntil > now && e.health) return;
        try {
          const h = await e.checkHealth(this.nextId++);
          e.succeeded();
          if (e.wrongNetwork) this.logger.error(`${e.label} serves ${h.network}, not ${this.chainId}: it is never used`);
        } catch (err) {
          e.learn(classifyRpcError(err), 1);
          this.logger.warn(`${e.label} did not answer /status: ${firstLine(err)}`);
        }
      }),
    ).then(() => undefined);
    try {
      await this.refreshing;
    } finally {
      this.refreshing = undefined;
    }
  }

  /**
   * Throws HeightsUnavailableError when every endpoint of this chain answered /status and none has `from` any more:
   * the span up to the lowest height any endpoint has is gone for good. (An endpoint that has not said yet may have
   * it: then it is not a gap.)
   */
  private checkAvailable(from: number): void {
    const serving = this.endpoints.filter((e) => !e.wrongNetwork);
    if (serving.length === 0 || serving.some((e) => e.mayHave(from))) return;
    if (serving.some((e) => e.health === undefined)) return;
    const lowest = Math.min(...serving.map((e) => Math.max(e.health!.earliestHeight, e.resultsFrom)));
    const pruned = serving.every((e) => e.resultsFrom <= e.health!.earliestHeight);
    throw new HeightsUnavailableError(
      this.chainId,
      from,
      lowest - 1,
      pruned ? 'pruned' : 'no_results',
      serving.map((e) => `${e.label} from ${Math.max(e.health!.earliestHeight, e.resultsFrom)}`).join(', '),
    );
  }

  /**
   * The endpoint for heights lo..hi: usable, still holding lo, preferring one whose head reaches hi, then the
   * fastest. When none is usable now, waits for the first whose backoff ends (up to the RPC timeout), else throws.
   * `first`: lo is the span's first height, so a span no endpoint holds is a gap (else it is retried).
   */
  private async choose(lo: number, hi: number, first: boolean): Promise<RpcEndpoint> {
    for (;;) {
      const now = Date.now();
      const holding = this.endpoints.filter((e) => !e.wrongNetwork && e.mayHave(lo));
      if (holding.length === 0) {
        if (first) this.checkAvailable(lo);
        throw new NoEndpointError(this.chainId, `no endpoint holds height ${lo} now`);
      }
      const usable = holding.filter((e) => e.usable(now));
      if (usable.length > 0) {
        const reaching = usable.filter((e) => !e.health || e.health.latestHeight >= hi);
        const pool = reaching.length ? reaching : usable;
        const best = pool.reduce((a, b) => (score(b) < score(a) ? b : a));
        best.chosen();
        return best;
      }
      const soonest = Math.min(...holding.map((e) => e.unavailableUntil));
      if (soonest - now > this.options.timeoutMs) {
        throw new NoEndpointError(this.chainId, holding.map((e) => `${e.label} backing off`).join(', '), soonest);
      }
      await sleep(Math.max(10, soonest - now));
    }
  }
}

/** Lower is better: the answer time, worse with requests already waiting on it. */
function score(e: RpcEndpoint): number {
  return (e.latencyMs || 1) * (1 + e.inFlight);
}

/** An error's message up to its first line break (an HTML error page stays out of the log line). */
function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300);
}
