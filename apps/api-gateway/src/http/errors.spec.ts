import { BadRequestException, NotFoundException } from '@nestjs/common';
import { BreakerOpenError } from '@unstuck/resilience';
import { ApiError, toErrorResponse } from './errors';

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
