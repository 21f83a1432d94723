import type { FastifyInstance, RouteHandlerMethod, RouteOptions } from 'fastify';

/**
 * Serves one route with a plain Fastify handler instead of Nest's per-request pipeline (guards, pipes,
 * interceptors, exception zone), for the hottest lookups. The route is still declared, validated and documented
 * by its Nest controller (OpenAPI comes from there), and Fastify's hooks — security headers, CORS, compression,
 * rate limits, metrics, the error handler — still run: only the handler Nest registers is swapped for `handler`,
 * which must answer exactly as the controller method does. `options` are set on the route too (e.g.
 * `{ compress: false }` for a handler that compresses its own answers); plugins read them in their own `onRoute`
 * hooks, so call this before registering them. Call before the app listens (Nest registers its routes then).
 */
export function serveDirectly(fastify: FastifyInstance, method: 'GET', url: string, handler: RouteHandlerMethod, options: Partial<RouteOptions> = {}): void {
  let installed = false;
  fastify.addHook('onRoute', (route) => {
    if (route.url !== url || route.method !== method) return;
    Object.assign(route, options);
    route.handler = handler;
    installed = true;
  });
  fastify.addHook('onReady', (done) => done(installed ? undefined : new Error(`serveDirectly: no ${method} ${url} route was registered to serve`)));
}
