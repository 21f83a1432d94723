import { BreakerOpenError, HttpError } from '@unstuck/resilience';
import { RpcAnswerError } from '../blocks-answer';
import { classifyRpcError, retryAfterMs } from './rpc-errors';

/** The node's own words, as CometBFT 0.34–0.38 writes them (rpc/core/env.go, rpc/jsonrpc/server/http_server.go, state/errors.go). */
describe('classifyRpcError', () => {
  const answer = (data: string) => new RpcAnswerError('block', data);

  it('reads the batch limit from CometBFT’s refusal', () => {
    expect(classifyRpcError(new RpcAnswerError('batch', 'batch request exceeds maximum (10) allowed number of requests'))).toEqual({ class: 'batch_limit', limit: 10 });
  });

  it('tells pruned, results missing and behind-the-head apart, with their heights', () => {
    expect(classifyRpcError(answer('height 5 is not available, lowest height is 1200'))).toEqual({ class: 'height_unavailable', lowest: 1200 });
    expect(classifyRpcError(answer('could not find results for height #77'))).toEqual({ class: 'results_missing', height: 77 });
    expect(classifyRpcError(answer('height 90 must be less than or equal to the current blockchain height 88'))).toEqual({ class: 'behind', head: 88 });
    expect(classifyRpcError(answer('invalid JSON from http://node: <html>'))).toEqual({ class: 'endpoint' });
  });

  it('honours 429 with Retry-After in seconds or as a date, and halves on 413 / 504 / timeouts / cut-off answers', () => {
    expect(classifyRpcError(new HttpError(429, 'http://n', 'slow down', '3'))).toEqual({ class: 'rate_limited', retryAfterMs: 3000 });
    expect(classifyRpcError(new HttpError(429, 'http://n', ''))).toEqual({ class: 'rate_limited', retryAfterMs: undefined });
    expect(classifyRpcError(new HttpError(413, 'http://n', ''))).toEqual({ class: 'too_large' });
    expect(classifyRpcError(new HttpError(504, 'http://n', ''))).toEqual({ class: 'too_large' });
    expect(classifyRpcError(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toEqual({ class: 'too_large' });
    expect(classifyRpcError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))).toEqual({ class: 'too_large' });
    expect(classifyRpcError(Object.assign(new Error('too big'), { code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' }))).toEqual({ class: 'too_large' });
  });

  it('moves off an endpoint that is down, broken or open-circuited', () => {
    expect(classifyRpcError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toEqual({ class: 'endpoint' });
    expect(classifyRpcError(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }))).toEqual({ class: 'endpoint' });
    expect(classifyRpcError(new HttpError(502, 'http://n', 'bad gateway'))).toEqual({ class: 'endpoint' });
    expect(classifyRpcError(new BreakerOpenError('rpc', 1000))).toEqual({ class: 'endpoint' });
    expect(classifyRpcError(new Error('something else'))).toEqual({ class: 'transient' });
  });

  it('reads Retry-After', () => {
    const now = Date.parse('2026-12-06T00:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Sun, 06 Dec 2026 00:00:05 GMT', now)).toBe(5_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});
