import type { OpenAPIObject } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { toErrorResponse, ApiError } from './errors';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/**
 * The query parameters each documented operation takes, keyed `METHOD /fastify/route/:param` — from the OpenAPI
 * document the controllers generate, so a route that documents none takes none.
 */
export function queryParametersByRoute(doc: OpenAPIObject): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [path, item] of Object.entries(doc.paths)) {
    const route = path.replace(/\{([^}]+)\}/g, ':$1');
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const names = (op.parameters ?? []).filter((p) => 'in' in p && p.in === 'query').map((p) => (p as { name: string }).name);
      out.set(`${method.toUpperCase()} ${route}`, new Set(names));
    }
  }
  return out;
}

function refuse(reply: FastifyReply, error: ApiError): void {
  const { status, body, headers } = toErrorResponse(error);
  void reply.status(status).headers(headers).header('cache-control', 'no-store').send(body);
}

/**
 * Requests refused in the API's error shape before anything else sees them:
 * - no Host header (HTTP/1.1 requires one; Node's own refusal is an empty 400);
 * - an OPTIONS request that is not a CORS preflight (no Origin or no Access-Control-Request-Method; @fastify/cors
 *   answers those in plain text);
 * - query parameters a route does not take, on routes whose schema would not look at the query at all.
 */
export function registerRequestGuards(fastify: FastifyInstance, documented: () => OpenAPIObject): void {
  let byRoute: Map<string, Set<string>> | undefined;
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.headers.host) return refuse(reply, ApiError.badRequest('missing_host', 'the request has no Host header (HTTP/1.1 requires one)'));
    if (request.method === 'OPTIONS' && (!request.headers.origin || !request.headers['access-control-request-method'])) {
      return refuse(reply, ApiError.badRequest('invalid_preflight', 'an OPTIONS request here is a CORS preflight: send Origin and Access-Control-Request-Method'));
    }
    done();
  });
  fastify.addHook('preValidation', (request, reply, done) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (!query || Object.keys(query).length === 0) return done();
    byRoute ??= queryParametersByRoute(documented());
    const allowed = byRoute.get(`${request.method} ${request.routeOptions.url ?? ''}`);
    if (!allowed) return done();
    const unknown = Object.keys(query).filter((k) => !allowed.has(k));
    if (unknown.length === 0) return done();
    refuse(reply, ApiError.badRequest('unknown_query_parameter', `unknown query parameter${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}${allowed.size ? `; this endpoint takes ${[...allowed].join(', ')}` : '; this endpoint takes none'}`));
  });
}
