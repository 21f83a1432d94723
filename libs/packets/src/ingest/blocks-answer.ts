import type { RawEvent } from '../parsing/abci-events';

/*
 * Reading CometBFT's batched /block + /block_results answers. Kept free of the HTTP, breaker and metrics modules:
 * the decoding threads load this file, and every module they load costs each thread its start-up time.
 */

/** What ingest needs of one height: /block's time and txs, /block_results' tx results and block-level events. */
export interface FetchedBlock {
  height: number;
  time: string;
  txs: string[];
  txResults: Array<{ code: number; events?: RawEvent[] | null }>;
  /** Events outside any transaction: finalize_block_events (0.38), begin_block_events + end_block_events (0.34/0.37). */
  blockEvents: RawEvent[];
}

/**
 * The unparsed answer to a batch of /block and /block_results requests: a 10-block batch of a busy chain is tens of
 * megabytes of JSON, so it is parsed (readBlocksAnswer) where the caller chooses, off the main thread in ingest.
 */
export interface BlocksAnswer {
  /** The nodes' URLs, for errors. */
  url: string;
  heights: number[];
  /** JSON-RPC id of the first height's /block request; /block_results is id + 1, the next height id + 2... */
  firstId: number;
  /**
   * The answers' bytes (UTF-8 JSON), each in a buffer of its own so that they can be moved to a decoding thread: a
   * span is fetched in as many requests as the node's batch limit needs, each answer a JSON-RPC batch (an array)
   * or, for a single request, one response object.
   */
  bodies: Array<Uint8Array<ArrayBuffer>>;
}

/** UTF-8 bytes as text. */
export function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * A JSON-RPC answer ingest cannot use: an error (height not available yet, pruned...), or a batch answer that is
 * not JSON, misses a height or does not match itself.
 */
export class RpcAnswerError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly method: string,
    readonly data: string,
    retryable?: boolean,
  ) {
    super(`${method}: ${data}`);
    this.name = 'RpcAnswerError';
    // "must be less than or equal to the current blockchain height" is a race with the node: worth a retry.
    // "is not available, lowest height is N" (pruned) will not get better.
    this.retryable = retryable ?? /current blockchain height/.test(data);
  }
}

export interface JsonRpcResponse<T> {
  id: number;
  result?: T;
  error?: { code: number; message: string; data?: string };
}

export interface BlockResponse {
  block: { header: { height: string; time: string }; data: { txs: string[] | null } };
}
interface BlockResultsResponse {
  height: string;
  txs_results: Array<{ code: number; events?: RawEvent[] | null }> | null;
  finalize_block_events?: RawEvent[] | null;
  begin_block_events?: RawEvent[] | null;
  end_block_events?: RawEvent[] | null;
}

export function unwrap<T>(url: string, r: JsonRpcResponse<T> | undefined, method: string): T {
  if (!r) throw new RpcAnswerError(method, `no answer in the batch from ${url}`, true);
  if (r.error) throw new RpcAnswerError(method, r.error.data ?? r.error.message);
  return r.result as T;
}

/** The blocks of a batched answer, checked: every height answered, each block's txs matching its results. */
export function readBlocksAnswer(answer: BlocksAnswer): FetchedBlock[] {
  type Response = JsonRpcResponse<BlockResponse | BlockResultsResponse>;
  const byId = new Map<number, Response>();
  for (const body of answer.bodies) {
    let parsed: Response | Response[];
    const text = utf8(body);
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new RpcAnswerError('block', `invalid JSON from ${answer.url}: ${text.slice(0, 100)}`, true);
    }
    // CometBFT writes an answer of one response as an object, even to a batch of one request.
    for (const r of Array.isArray(parsed) ? parsed : [parsed]) byId.set(r.id, r);
  }
  return answer.heights.map((h, i) => {
    const block = unwrap(answer.url, byId.get(answer.firstId + 2 * i), 'block') as BlockResponse;
    const results = unwrap(answer.url, byId.get(answer.firstId + 2 * i + 1), 'block_results') as BlockResultsResponse;
    const txs = block.block.data.txs ?? [];
    const txResults = results.txs_results ?? [];
    if (Number(block.block.header.height) !== h || txs.length !== txResults.length) {
      throw new RpcAnswerError('block', `inconsistent answer from ${answer.url} for height ${h}: ${txs.length} txs, ${txResults.length} results`, true);
    }
    const blockEvents = results.finalize_block_events ?? [...(results.begin_block_events ?? []), ...(results.end_block_events ?? [])];
    return { height: h, time: block.block.header.time, txs, txResults, blockEvents };
  });
}
