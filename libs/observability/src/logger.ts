import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { RouteOptions } from 'fastify';
import { RequestMethod, type DynamicModule } from '@nestjs/common';

/** Paths never written to logs: credentials, session tokens, wallet secrets. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.mnemonic',
  '*.token',
  '*.secret',
  '*.privateKey',
];

/** pino JSON logs with a `service` field; health and metrics scrapes are not logged. */
export function loggerModule(service: string, level: string, selfLoggedPaths: string[] = []): DynamicModule {
  return LoggerModule.forRoot({
    // Probes and scrapes arrive every few seconds and would drown the request log.
    exclude: ['health/live', 'health/ready', 'metrics', ...selfLoggedPaths].map((path) => ({ path, method: RequestMethod.GET })),
    pinoHttp: {
      level,
      base: { service },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      serializers: {
        req: (req: { method?: string; url?: string; id?: unknown }) => ({ id: req.id, method: req.method, url: req.url }),
      },
    },
  });
}

/**
 * Logs a route's requests as pino-http would (`request completed`, the level by status), from a Fastify onResponse
 * hook: for hot routes, where pino-http's per-request child logger and async context cost more than the answer.
 * The route's path goes in `selfLoggedPaths` so it is not logged twice.
 */
export function logRequests(route: RouteOptions): void {
  const log: RouteOptions['onResponse'] = (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    const logger = PinoLogger.root as PinoLogger['logger'] | undefined; // set once LoggerModule is up
    if (logger?.isLevelEnabled(level)) {
      logger[level]({ req: { id: request.id, method: request.method, url: request.url }, res: reply.raw, responseTime: Math.round(reply.elapsedTime) }, 'request completed');
    }
    done();
  };
  route.onResponse = [...(route.onResponse ? [route.onResponse].flat() : []), log];
}
