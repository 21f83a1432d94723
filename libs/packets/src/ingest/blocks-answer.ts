import type { RawEvent } from '../parsing/abci-events';

/*
 * Reading CometBFT's batched /block + /block_results answers. Kept free of the HTTP, breaker and metrics modules:
 * the decoding threads load this file, and every module they load costs each thread its start-up time.
 */

/** What ingest needs of one height: /block's time and txs, /block_results' tx results. */
export interface FetchedBlock {
  height: number;
  time: string;
  txs: string[];
  txResults: Array<{ code: number; events?: RawEvent[] | null }>;
}

/**
 * The unparsed answer to a batch of /block and /block_results requests: a 10-block batch of a busy chain is tens of
 * megabytes of JSON, so it is parsed (readBlocksAnswer) where the caller chooses, off the main thread in ingest.
 */
export interface BlocksAnswer {
  /** The node's URL, for errors. */
  url: string;
  heights: number[];
  /** JSON-RPC id of the first height's /block request; /block_results is id + 1, the next height id + 2... */
  firstId: number;
  /** The answer's bytes (UTF-8 JSON), in a buffer of their own so that they can be moved to a decoding thread. */
  body: Uint8Array<ArrayBuffer>;
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
}

export function unwrap<T>(url: string, r: JsonRpcResponse<T> | undefined, method: string): T {
  if (!r) throw new RpcAnswerError(method, `no answer in the batch from ${url}`, true);
  if (r.error) throw new RpcAnswerError(method, r.error.data ?? r.error.message);
  return r.result as T;
}

/** The blocks of a batched answer, checked: every height answered, each block's txs matching its results. */
export function readBlocksAnswer(answer: BlocksAnswer): FetchedBlock[] {
  let parsed: Array<JsonRpcResponse<BlockResponse | BlockResultsResponse>>;
  const text = utf8(answer.body);
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new RpcAnswerError('block', `invalid JSON from ${answer.url}: ${text.slice(0, 100)}`, true);
  }
  if (!Array.isArray(parsed)) throw new RpcAnswerError('block', `expected a JSON-RPC batch answer from ${answer.url}`, true);
  const byId = new Map(parsed.map((r) => [r.id, r]));
  return answer.heights.map((h, i) => {
    const block = unwrap(answer.url, byId.get(answer.firstId + 2 * i), 'block') as BlockResponse;
    const results = unwrap(answer.url, byId.get(answer.firstId + 2 * i + 1), 'block_results') as BlockResultsResponse;
    const txs = block.block.data.txs ?? [];
    const txResults = results.txs_results ?? [];
    if (Number(block.block.header.height) !== h || txs.length !== txResults.length) {
      throw new RpcAnswerError('block', `inconsistent answer from ${answer.url} for height ${h}: ${txs.length} txs, ${txResults.length} results`, true);
    }
    return { height: h, time: block.block.header.time, txs, txResults };
  });
}
