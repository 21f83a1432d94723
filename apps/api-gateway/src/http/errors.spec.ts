import { BadRequestException, NotFoundException } from '@nestjs/common';
import { BreakerOpenError } from '@unstuck/resilience';
import { ApiError, clientErrorResponse, toErrorResponse } from './errors';

describe('toErrorResponse', () => {
  it('answers an open database breaker with 503 and a Retry-After in whole seconds', () => {
    const r = toErrorResponse(new BreakerOpenError('database', 4_200));
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    expect(r.body.error.code).toBe('database_unavailable');
  });

  it('answers a lost database connection with 503, not 500', () => {
    const r = toErrorResponse(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:55432'), { code: 'ECONNREFUSED' }));
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeDefined();
  });

  it('answers an unexpected error with 500 naming the request it was logged as, and nothing of the error itself', () => {
    const r = toErrorResponse(new TypeError("Cannot read properties of undefined (reading 'rows')"), 'req-7f');
    expect(r).toEqual({
      status: 500,
      body: { error: { code: 'internal_error', message: 'something went wrong on our side; it has been logged as request req-7f', request_id: 'req-7f' } },
      headers: {},
    });
  });

  it("keeps an ApiError's status, code and details", () => {
    const r = toErrorResponse(ApiError.badRequest('page_out_of_range', 'too far', { parameter: 'page' }));
    expect(r).toEqual({ status: 400, body: { error: { code: 'page_out_of_range', message: 'too far', details: { parameter: 'page' } } }, headers: {} });
  });

  it("maps Fastify's and Nest's errors onto the API's codes", () => {
    expect(toErrorResponse({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413, message: 'Request body is too large' }).body.error.code).toBe('payload_too_large');
    expect(toErrorResponse(new BadRequestException("Body is not valid JSON but content-type is set to 'application/json'")).body.error.code).toBe('invalid_json');
    expect(toErrorResponse(new NotFoundException('Cannot GET /x')).body.error).toEqual({ code: 'not_found', message: 'no such endpoint: GET /x' });
    expect(toErrorResponse({ statusCode: 429, code: 'rate_limited', message: 'slow down' })).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
  });

  it('answers anything unexpected with a 500 that reveals nothing', () => {
    const r = toErrorResponse(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain('undefined');
  });
});

describe('clientErrorResponse', () => {
  const parseError = (code: string, reason: string) => Object.assign(new Error(`Parse Error: ${reason}`), { code, reason });

  it("names what Node's HTTP parser refused, in the API's error shape", () => {
    expect(clientErrorResponse(parseError('HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length'))).toEqual({
      status: 400,
      body: { error: { code: 'bad_content_length', message: 'the Content-Length header is not a number of bytes' } },
    });
    expect(clientErrorResponse(parseError('HPE_HEADER_OVERFLOW', 'Header overflow')).status).toBe(431);
    expect(clientErrorResponse(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' })).status).toBe(408);
  });

  it("passes on the parser's reason for any other malformed request", () => {
    expect(clientErrorResponse(parseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header token')).body.error).toEqual({
      code: 'malformed_request',
      message: 'the request is not valid HTTP: Invalid header token',
    });
    // Without a reason, the parser's message loses its "Parse Error: " prefix.
    expect(clientErrorResponse(Object.assign(new Error('Parse Error: Invalid method encountered'), { code: 'HPE_INVALID_METHOD' })).body.error.message).toBe(
      'the request is not valid HTTP: Invalid method encountered',
    );
    // Not a parser error: nothing of its message is repeated.
    expect(clientErrorResponse(new Error('something internal')).body.error).toEqual({ code: 'malformed_request', message: 'the request is not valid HTTP' });
  });
});
