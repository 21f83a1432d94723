import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyServerOptions } from 'fastify';
import { Logger } from 'nestjs-pino';
import { EnvValidationError } from '@unstuck/config';
import { logRequest } from './logger';
import { httpRequestDuration } from './metrics';
import { LifecycleState } from './readiness';

export interface BootstrapOptions {
  port: number;
  host: string;
  shutdownTimeoutMs: number;
  /** Fastify server options beyond the defaults (body limit...). */
  http?: { bodyLimit?: number; trustProxy?: boolean | number | string };
  /** Extra setup before listening (global prefix, validation pipe, CORS...). */
  configure?: (app: NestFastifyApplication) => void | Promise<void>;
  /** The service's own error answers; without them, Nest's and Fastify's defaults. */
  errors?: ServiceErrorHandlers;
}

type FastifyErrorHandler = Parameters<FastifyAdapter['setErrorHandler']>[0];

export interface ServiceErrorHandlers {
  /** What Fastify raises outside Nest's router: body parsing, limits, hooks, routes served by Fastify directly. */
  handler: FastifyErrorHandler;
  /** A request Node's HTTP parser could not read; it never reaches Fastify's router or any error handler. */
  clientError: NonNullable<FastifyServerOptions['clientErrorHandler']>;
}

/**
 * A FastifyAdapter that keeps the service's own Fastify error handler. Nest's init() sets a generic one that turns
 * a Fastify error into a bare HttpException (its code lost, so a 415 could not say what to send instead) and
 * would replace ours in the same scope (Fastify warned FSTWRN004 at every start).
 */
class ServiceAdapter extends FastifyAdapter {
  private own = false;

  useErrorHandler(handler: FastifyErrorHandler): void {
    this.getInstance().setErrorHandler(handler);
    this.own = true;
  }

  override setErrorHandler(handler: FastifyErrorHandler): ReturnType<FastifyAdapter['setErrorHandler']> {
    return this.own ? this.getInstance() : super.setErrorHandler(handler);
  }
}

/** Creates, instruments and starts one service's HTTP server with graceful shutdown on SIGTERM/SIGINT. */
export async function bootstrapService(module: unknown, options: BootstrapOptions): Promise<NestFastifyApplication> {
  // Above a cloud load balancer's 60 s idle timeout, so the balancer, not us, closes idle connections.
  const adapter = new ServiceAdapter({
    keepAliveTimeout: 65_000,
    ...options.http,
    ...(options.errors ? { clientErrorHandler: options.errors.clientError } : {}),
  });
  if (options.errors) adapter.useErrorHandler(options.errors.handler);
  const app = await NestFactory.create<NestFastifyApplication>(module as never, adapter, { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);

  const duration = httpRequestDuration();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', (request, reply, done) => {
      duration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      logRequest(request, reply);
      done();
    });

  const lifecycle = app.get(LifecycleState);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // Registered before Nest's own hooks so readiness fails before consumers drain and the server closes.
    process.once(signal, () => {
      lifecycle.shuttingDown = true;
      logger.log(`${signal} received: draining`);
      setTimeout(() => {
        logger.error(`graceful shutdown took longer than ${options.shutdownTimeoutMs} ms; exiting`);
        process.exit(1);
      }, options.shutdownTimeoutMs).unref();
    });
  }
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);

  await options.configure?.(app);
  await app.listen(options.port, options.host);
  logger.log(`listening on http://${options.host}:${options.port}`);
  return app;
}

/** Runs a service's main; a bad environment is printed as the list of problems, not a stack trace. */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((e: unknown) => {
    if (e instanceof EnvValidationError) process.stderr.write(`${e.message}\n`);
    else process.stderr.write(`fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
