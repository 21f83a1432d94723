import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DynamicModule } from '@nestjs/common';

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

/**
 * pino JSON logs with a `service` field. Requests are logged by `logRequest` from a Fastify hook, not by pino-http's
 * middleware (bound to no route here): its per-request child logger and async context cost more than a cached
 * answer (7–10 % of the gateway's CPU on stuck lookups). nestjs-pino still provides the root logger and Nest's logger.
 */
export function loggerModule(service: string, level: string): DynamicModule {
  return LoggerModule.forRoot({
    forRoutes: [],
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

/** Health probes and metric scrapes: orchestrators and Prometheus call them every few seconds. */
export function isProbeOrScrape(url: string): boolean {
  return url === '/metrics' || url.startsWith('/health/');
}

/**
 * One request, logged as pino-http did (`request completed`; info, warn for 4xx, error for 5xx). Probes and scrapes
 * would drown the request log: they are not logged.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply): void {
  const url = request.url;
  if (isProbeOrScrape(url)) return;
  const status = reply.statusCode;
  const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  const logger = PinoLogger.root as PinoLogger['logger'] | undefined; // set once LoggerModule is up
  if (logger?.isLevelEnabled(level)) {
    logger[level]({ req: { id: request.id, method: request.method, url }, res: reply.raw, responseTime: Math.round(reply.elapsedTime) }, 'request completed');
  }
}
