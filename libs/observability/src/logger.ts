import { LoggerModule } from 'nestjs-pino';
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
export function loggerModule(service: string, level: string): DynamicModule {
  return LoggerModule.forRoot({
    // Probes and scrapes arrive every few seconds and would drown the request log.
    exclude: ['health/live', 'health/ready', 'metrics'].map((path) => ({ path, method: RequestMethod.GET })),
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
