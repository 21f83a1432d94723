import { metric } from '@unstuck/observability';
import { createBreaker, HttpError, KeepAliveHttpClient, retry } from '@unstuck/resilience';
import type { RawEvent } from '../parsing/abci-events';

export interface ChainStatus {
  chainId: string;
  latestHeight: number;
  latestTime: string;
  earliestHeight: number;
}

/** What ingest needs of one height: /block's time and txs, /block_results' tx results. */
export interface FetchedBlock {
  height: number;
  time: string;
  txs: string[];
  txResults: Array<{ code: number; events?: RawEvent[] | null }>;
}

/** A JSON-RPC error answer: the node is up but refuses (height not available yet, pruned...). */
export class RpcAnswerError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly method: string,
    readonly data: string,
  ) {
    super(`${method}: ${data}`);
    this.name = 'RpcAnswerError';
    // "must be less than or equal to the current blockchain height" is a race with the node: worth a retry.
    // "is not available, lowest height is N" (pruned) will not get better.
    this.retryable = /current blockchain height/.test(data);
  }
}

interface JsonRpcResponse<T> {
  id: number;
  result?: T;
  error?: { code: number; message: string; data?: string };
}

interface BlockResponse {
  block: { header: { height: string; time: string }; data: { txs: string[] | null } };
}
interface BlockResultsResponse {
  height: string;
  txs_results: Array<{ code: number; events?: RawEvent[] | null }> | null;
}

/**
 * CometBFT RPC for one chain: a breaker so a dead node fails fast instead of piling up timeouts, retries with
 * backoff and jitter for transient failures only, and JSON-RPC batches so catching up costs one round trip per
 * span of heights instead of two per height.
 */
export class CometRpcClient {
  private readonly http: KeepAliveHttpClient;
  private readonly call: (body: unknown) => Promise<unknown>;
  private nextId = 1;
  private readonly errors = metric.counter({
    name: 'ingest_rpc_errors_total',
    help: 'CometBFT RPC calls that failed, by chain',
    labelNames: ['chain_id'],
  });

  constructor(
    readonly chainId: string,
    private readonly baseUrl: string,
    options: { timeoutMs: number; attempts: number },
  ) {
    this.http = new KeepAliveHttpClient({ connections: 8, requestTimeoutMs: options.timeoutMs, connectTimeoutMs: Math.min(5_000, options.timeoutMs) });
    const { fire } = createBreaker(`rpc:${chainId}`, (body: unknown) => this.http.postJson<unknown>(this.baseUrl, body), {
      timeoutMs: options.timeoutMs,
      resetTimeoutMs: 5_000,
      volumeThreshold: 3,
      errorThresholdPercentage: 50,
    });
    this.call = (body) =>
      retry(() => fire(body), { attempts: options.attempts, initialDelayMs: 200, maxDelayMs: 2_000 }).catch((e: unknown) => {
        this.errors.inc({ chain_id: this.chainId });
        throw e;
      });
  }

  async status(): Promise<ChainStatus> {
    const r = await this.single<{
      node_info: { network: string };
      sync_info: { latest_block_height: string; latest_block_time: string; earliest_block_height: string };
    }>('status', {});
    return {
      chainId: r.node_info.network,
      latestHeight: Number(r.sync_info.latest_block_height),
      latestTime: r.sync_info.latest_block_time,
      earliestHeight: Number(r.sync_info.earliest_block_height || 1),
    };
  }

  /** /block and /block_results for each height, in one batched request. */
  async blocks(heights: readonly number[]): Promise<FetchedBlock[]> {
    if (heights.length === 0) return [];
    const requests = heights.flatMap((h) => [
      { jsonrpc: '2.0', id: this.nextId++, method: 'block', params: { height: String(h) } },
      { jsonrpc: '2.0', id: this.nextId++, method: 'block_results', params: { height: String(h) } },
    ]);
    const answer = (await this.call(requests)) as Array<JsonRpcResponse<BlockResponse | BlockResultsResponse>>;
    if (!Array.isArray(answer)) throw new HttpError(502, this.baseUrl, 'expected a JSON-RPC batch answer');
    const byId = new Map(answer.map((r) => [r.id, r]));
    return heights.map((h, i) => {
      const block = this.unwrap(byId.get(requests[2 * i]!.id), 'block') as BlockResponse;
      const results = this.unwrap(byId.get(requests[2 * i + 1]!.id), 'block_results') as BlockResultsResponse;
      const txs = block.block.data.txs ?? [];
      const txResults = results.txs_results ?? [];
      if (Number(block.block.header.height) !== h || txs.length !== txResults.length) {
        throw new HttpError(502, this.baseUrl, `inconsistent answer for height ${h}: ${txs.length} txs, ${txResults.length} results`);
      }
      return { height: h, time: block.block.header.time, txs, txResults };
    });
  }

  /** One transaction by hash with its result, or null when the node has no such transaction. */
  async tx(hash: string): Promise<{ height: string; code: number; tx: string } | null> {
    try {
      const r = await this.single<{ height: string; tx: string; tx_result: { code: number } }>('tx', { hash: Buffer.from(hash, 'hex').toString('base64'), prove: false });
      return { height: r.height, code: r.tx_result.code, tx: r.tx };
    } catch (e) {
      if (e instanceof RpcAnswerError && /not found/i.test(e.data)) return null;
      throw e;
    }
  }

  /** A block's header time (RFC 3339). */
  async blockTime(height: string): Promise<string> {
    return (await this.single<BlockResponse>('block', { height })).block.header.time;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async single<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const r = (await this.call({ jsonrpc: '2.0', id: this.nextId++, method, params })) as JsonRpcResponse<T>;
    return this.unwrap(r, method) as T;
  }

  private unwrap<T>(r: JsonRpcResponse<T> | undefined, method: string): T {
    if (!r) throw new HttpError(502, this.baseUrl, `no answer to ${method} in the batch`);
    if (r.error) throw new RpcAnswerError(method, r.error.data ?? r.error.message);
    return r.result as T;
  }
}
