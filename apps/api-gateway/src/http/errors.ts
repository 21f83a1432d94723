import { STATUS_CODES as STATUS_CODES_TEXT } from 'node:http';
import type { Duplex } from 'node:stream';
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isConnectionError, isDataException } from '@unstuck/db';
import { BreakerOpenError } from '@unstuck/resilience';

/** The one error shape of the API: `{"error": {"code", "message"}}`, plus `details` where a list helps. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; request_id?: string };
}

/** An error the API answers on purpose, with its status and a stable machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static badRequest(code: string, message: string, details?: unknown): ApiError {
    return new ApiError(400, code, message, details);
  }
  static notFound(message: string): ApiError {
    return new ApiError(404, 'not_found', message);
  }
  static unauthorized(code: string, message: string): ApiError {
    return new ApiError(401, code, message);
  }
  static forbidden(message: string): ApiError {
    return new ApiError(403, 'forbidden', message);
  }
  static unavailable(code: string, message: string, retryAfterSeconds: number): ApiError {
    return new ApiError(503, code, message, undefined, retryAfterSeconds);
  }
}

/** Fastify's own errors (body parsing, size limits, rate limits) mapped onto our codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'the request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'the request body is empty but its content-type says JSON' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'send the request body as application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_content_length' },
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_url', message: "the URL's percent-encoding is malformed (a % must be followed by two hex digits of valid UTF-8)" },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, code: 'invalid_path_parameter', message: 'a path parameter is longer than 1000 characters' },
};

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * Anything thrown while answering a request → status, body and headers. Never a stack trace, never a 500 for bad
 * input. An unexpected error's answer names the request (`requestId`), which its log line names too, so that a user
 * reporting it can be matched to what was logged.
 */
export function toErrorResponse(err: unknown, requestId?: string): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof ApiError) {
    const headers: Record<string, string> = err.retryAfterSeconds !== undefined ? { 'retry-after': String(Math.max(1, err.retryAfterSeconds)) } : {};
    return { status: err.status, body: { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } }, headers };
  }
  if (err instanceof BreakerOpenError) {
    const retry = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    return {
      status: 503,
      body: { error: { code: 'database_unavailable', message: `the database is unavailable; retry in ${retry} s` } },
      headers: { 'retry-after': String(retry) },
    };
  }
  if (isDataException(err)) {
    // Validation should have refused it first; if a value still reached PostgreSQL out of range, it is still the input.
    return { status: 400, body: { error: { code: 'invalid_input', message: 'a value in the request is outside what Unstuck stores (for example a number too large)' } }, headers: {} };
  }
  if (isConnectionError(err)) {
    return {
      status: 503,
      body: { error: { code: 'database_unavailable', message: 'the database is unavailable; retry shortly' } },
      headers: { 'retry-after': '5' },
    };
  }
  if (err instanceof HttpException) {
    // Nest's Fastify body parser rethrows a JSON syntax error as a bare HttpException (no code, no cause): only its
    // message tells it apart from other 400s.
    if (err.getStatus() === 400 && /not valid JSON/i.test(err.message)) return toErrorResponse({ code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    const status = err.getStatus();
    const response = err.getResponse();
    const message =
      typeof response === 'string' ? response : typeof (response as { message?: unknown }).message === 'string' ? (response as { message: string }).message : err.message;
    if (status === 404 && /^Cannot [A-Z-]+ /.test(message)) {
      return { status, body: { error: { code: 'not_found', message: `no such endpoint: ${message.replace(/^Cannot /, '')}` } }, headers: {} };
    }
    return { status, body: { error: { code: STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request'), message } }, headers: {} };
  }
  const fastify = err as Partial<FastifyError>;
  if (typeof fastify.code === 'string' && FASTIFY_CODES[fastify.code]) {
    const known = FASTIFY_CODES[fastify.code]!;
    return { status: known.status, body: { error: { code: known.code, message: known.message ?? fastify.message ?? known.code } }, headers: {} };
  }
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return {
      status: fastify.statusCode,
      body: { error: { code: STATUS_CODES[fastify.statusCode] ?? 'bad_request', message: fastify.message ?? 'bad request' } },
      headers: {},
    };
  }
  const logged = requestId === undefined ? 'it has been logged' : `it has been logged as request ${requestId}`;
  return {
    status: 500,
    body: { error: { code: 'internal_error', message: `something went wrong on our side; ${logged}`, ...(requestId === undefined ? {} : { request_id: requestId }) } },
    headers: {},
  };
}

const logger = new Logger('HttpErrors');

function send(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, headers } = toErrorResponse(err, request.id);
  if (status >= 500) logger.error(`${request.method} ${request.url} (request ${request.id}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  void reply.status(status).headers(headers).header('cache-control', 'no-store').send(body);
}

/** Nest's side: every exception a controller, guard or pipe throws. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    // Probes keep their own body (which checks failed): orchestrators and operators read it, not API clients.
    if (exception instanceof HttpException && request.url.startsWith('/health/')) {
      void http.getResponse<FastifyReply>().status(exception.getStatus()).send(exception.getResponse());
      return;
    }
    send(exception, request, http.getResponse<FastifyReply>());
  }
}

/** Fastify's side: errors raised before Nest sees the request (body parsing, limits, plugins, direct routes). */
export function fastifyErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  send(error, request, reply);
}

/** Node's HTTP parser errors (llhttp's codes) a client can cause and fix, with what to tell it. */
const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: "the request's headers are larger than the server accepts" },
  HPE_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_content_length', message: 'the Content-Length header is not a number of bytes' },
  HPE_UNEXPECTED_CONTENT_LENGTH: { status: 400, code: 'bad_content_length', message: 'send Content-Length or Transfer-Encoding, not both' },
};

/**
 * A request Node's HTTP parser could not read (a broken header, a bad Content-Length, headers too large), answered
 * in the API's error shape. It never reaches Fastify's router, so no error handler sees it; Fastify's default
 * answered `{"error":"Bad Request","message":"Client Error"}`, which names nothing.
 */
export function clientErrorResponse(err: Error & { code?: string; reason?: string }): { status: number; body: ErrorBody } {
  const known = err.code ? CLIENT_ERRORS[err.code] : undefined;
  if (known) return { status: known.status, body: { error: { code: known.code, message: known.message } } };
  // llhttp's reason names the fault ("Invalid header value char"); it says nothing about the server.
  const reason = err.reason ?? (err.code?.startsWith('HPE_') ? err.message.replace(/^Parse Error: /, '') : undefined);
  return { status: 400, body: { error: { code: 'malformed_request', message: reason ? `the request is not valid HTTP: ${reason}` : 'the request is not valid HTTP' } } };
}

/** Fastify's clientErrorHandler: answers, then closes the connection (the parser cannot go on reading it). */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  // A reset connection is already gone: nothing to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const { status, body } = clientErrorResponse(err);
    const text = JSON.stringify(body);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES_TEXT[status] ?? 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}
