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
  http?: HttpServerOptions;
  /** The service registers its own body parsers (Nest registers none: no form bodies, no second JSON parser). */
  ownBodyParser?: boolean;
  /** Extra setup before listening (global prefix, validation pipe, CORS...). */
  configure?: (app: NestFastifyApplication) => void | Promise<void>;
  /** The service's own error answers; without them, Nest's and Fastify's defaults. */
  errors?: ServiceErrorHandlers;
}

/** The Fastify and Node HTTP server options a service may set. */
export interface HttpServerOptions {
  bodyLimit?: number;
  trustProxy?: boolean | number | string;
  /** A path parameter longer than this makes the route not match (Fastify's default, 100, turns a long value into a 404). */
  maxParamLength?: number;
  /**
   * Headers and body must have arrived this long after the request began, else Node answers 408 and closes the
   * connection (0: no limit). Checked every `min(1 s, this / 4)`.
   */
  requestTimeoutMs?: number;
  /** Node refuses a request without Host itself, with an empty 400; false lets the service answer it. */
  requireHostHeader?: boolean;
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
  const { requestTimeoutMs, requireHostHeader, ...fastifyOptions } = options.http ?? {};
  const nodeHttp = requireHostHeader === false ? { requireHostHeader: false } : {};
  const adapter = new ServiceAdapter({
    keepAliveTimeout: 65_000,
    ...fastifyOptions,
    ...(requestTimeoutMs
      ? {
          requestTimeout: requestTimeoutMs,
          // Node's own timer for slow headers (a slowloris), checked with the request timeout's interval.
          http: {
            ...nodeHttp,
            headersTimeout: requestTimeoutMs,
            requestTimeout: requestTimeoutMs,
            connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
          },
        }
      : { http: nodeHttp }),
    ...(options.errors
      ? {
          clientErrorHandler: options.errors.clientError,
          // A URL Fastify cannot decode (bad percent-encoding) reaches no route: answered by the same handler.
          frameworkErrors: options.errors.handler as never,
        }
      : {}),
  });
  if (options.errors) adapter.useErrorHandler(options.errors.handler);
  const app = await NestFactory.create<NestFastifyApplication>(module as never, adapter, { bufferLogs: true, bodyParser: !options.ownBodyParser });
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
