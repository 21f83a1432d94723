import { metric } from '@unstuck/observability';
import { createBreaker, KeepAliveHttpClient, parseJson, retry } from '@unstuck/resilience';
import { RpcAnswerError, unwrap, utf8, type BlockResponse, type BlocksAnswer, type JsonRpcResponse } from './blocks-answer';

export interface ChainStatus {
  chainId: string;
  latestHeight: number;
  latestTime: string;
  earliestHeight: number;
}

/**
 * CometBFT RPC for one chain: a breaker so a dead node fails fast instead of piling up timeouts, retries with
 * backoff and jitter for transient failures only, and JSON-RPC batches so catching up costs one round trip per
 * span of heights instead of two per height.
 */
export class CometRpcClient {
  private readonly http: KeepAliveHttpClient;
  private readonly call: (body: unknown) => Promise<Uint8Array<ArrayBuffer>>;
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
    const { fire } = createBreaker(`rpc:${chainId}`, (body: unknown) => this.http.postBytes(this.baseUrl, body), {
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

  /** /block and /block_results for each height in one batched request, unparsed: readBlocksAnswer reads it. */
  async blocksAnswer(heights: readonly number[]): Promise<BlocksAnswer> {
    const firstId = this.nextId;
    this.nextId += 2 * heights.length;
    const requests = heights.flatMap((h, i) => [
      { jsonrpc: '2.0', id: firstId + 2 * i, method: 'block', params: { height: String(h) } },
      { jsonrpc: '2.0', id: firstId + 2 * i + 1, method: 'block_results', params: { height: String(h) } },
    ]);
    return { url: this.baseUrl, heights: [...heights], firstId, body: await this.call(requests) };
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
    const r = parseJson<JsonRpcResponse<T>>(this.baseUrl, utf8(await this.call({ jsonrpc: '2.0', id: this.nextId++, method, params })));
    return unwrap(this.baseUrl, r, method);
  }
}
