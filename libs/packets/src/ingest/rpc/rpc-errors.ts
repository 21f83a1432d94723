import { BreakerOpenError, HttpError } from '@unstuck/resilience';
import { RpcAnswerError } from '../blocks-answer';

/**
 * What a failed CometBFT RPC call means for the caller, from the node's own words (rpc/core and
 * rpc/jsonrpc/server in CometBFT 0.34–0.38) and the HTTP layer in front of it:
 * - `batch_limit`: the batch had more requests than `max_request_batch_size` (learn the limit, split);
 * - `too_large`: the answer timed out, was cut off or exceeded the size allowed (halve the batch);
 * - `rate_limited`: 429 (wait Retry-After on this endpoint, use another meanwhile);
 * - `height_unavailable`: this node pruned the height (another node may still have it);
 * - `results_missing`: this node keeps no ABCI results for the height (discard_abci_responses);
 * - `behind`: the height is above this node's head (it lags; another node, or a moment later);
 * - `endpoint`: this endpoint is not usable now (refused, 5xx, wrong answer): move to another;
 * - `transient`: worth the same request again after a backoff.
 */
export type RpcErrorClass = 'batch_limit' | 'too_large' | 'rate_limited' | 'height_unavailable' | 'results_missing' | 'behind' | 'endpoint' | 'transient';

export interface ClassifiedRpcError {
  class: RpcErrorClass;
  /** batch_limit: the node's max_request_batch_size. */
  limit?: number;
  /** rate_limited: how long the node asked us to wait. */
  retryAfterMs?: number;
  /** height_unavailable: the lowest height the node has. */
  lowest?: number;
  /** results_missing: the height it has no results for. */
  height?: number;
  /** behind: the node's current height. */
  head?: number;
}

const BATCH_LIMIT = /batch request exceeds maximum \((\d+)\) allowed number of requests/;
const PRUNED = /height (\d+) is not available, lowest height is (\d+)/;
const NO_RESULTS = /could not find results for height #?(\d+)/;
const BEHIND = /height (\d+) must be less than or equal to the current blockchain height (\d+)/;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'ETIMEDOUT']);
const CUT_OFF_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED']);
/** Errors of the connection itself: this endpoint is down or unreachable now. */
const DOWN_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function codeOf(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Classifies an error thrown by a CometBFT RPC call (see RpcErrorClass). */
export function classifyRpcError(e: unknown): ClassifiedRpcError {
  if (e instanceof RpcAnswerError) {
    const text = e.data;
    let m = BATCH_LIMIT.exec(text);
    if (m) return { class: 'batch_limit', limit: Number(m[1]) };
    m = PRUNED.exec(text);
    if (m) return { class: 'height_unavailable', lowest: Number(m[2]) };
    m = NO_RESULTS.exec(text);
    if (m) return { class: 'results_missing', height: Number(m[1]) };
    m = BEHIND.exec(text);
    if (m) return { class: 'behind', head: Number(m[2]) };
    // An answer that is not JSON, misses a request or contradicts itself: this endpoint misbehaves.
    return { class: 'endpoint' };
  }
  if (e instanceof HttpError) {
    if (e.status === 429) return { class: 'rate_limited', retryAfterMs: retryAfterMs(e.retryAfter) };
    if (e.status === 413 || e.status === 408 || e.status === 504) return { class: 'too_large' };
    if (e.status === 503 && e.retryAfter) return { class: 'rate_limited', retryAfterMs: retryAfterMs(e.retryAfter) };
    return { class: 'endpoint' };
  }
  if (e instanceof BreakerOpenError) return { class: 'endpoint' };
  const code = codeOf(e);
  if (code && TIMEOUT_CODES.has(code)) return { class: 'too_large' };
  // CometBFT's write_timeout (10 s by default) closes the connection mid-answer when a batch takes too long to write.
  if (code && CUT_OFF_CODES.has(code)) return { class: 'too_large' };
  if (code && DOWN_CODES.has(code)) return { class: 'endpoint' };
  if ((e as { name?: string })?.name === 'TimeoutError' || (e as { name?: string })?.name === 'AbortError') return { class: 'too_large' };
  return { class: 'transient' };
}

/**
 * No endpoint of the chain has heights `from`..`to` any more (every one pruned them, or keeps no results for
 * them): the follower records them as a gap and goes on from `to` + 1. Never retried.
 */
export class HeightsUnavailableError extends Error {
  constructor(
    readonly chainId: string,
    readonly from: number,
    readonly to: number,
    readonly reason: 'pruned' | 'no_results',
    detail: string,
  ) {
    super(`${chainId}: heights ${from}–${to} are on none of its endpoints (${reason}): ${detail}`);
    this.name = 'HeightsUnavailableError';
  }
}

/** Every endpoint of the chain is down, rate-limited or unhealthy right now: the caller pauses and tries later. */
export class NoEndpointError extends Error {
  constructor(
    readonly chainId: string,
    detail: string,
    /** When the first endpoint may be tried again (ms since the epoch), if known. */
    readonly retryAt?: number,
  ) {
    super(`${chainId}: no RPC endpoint can serve this now: ${detail}`);
    this.name = 'NoEndpointError';
  }
}
