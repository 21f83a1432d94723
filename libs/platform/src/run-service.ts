import type { DynamicModule } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { z } from 'zod';
import { loadEnv, trustProxyOption } from '@unstuck/config';
import { bootstrapService, runMain, type HttpServerOptions, type ServiceErrorHandlers } from '@unstuck/observability';
import type { platformEnvShape } from './platform.module';

export interface ServiceDefinition<S extends typeof platformEnvShape & z.ZodRawShape> {
  envShape: S;
  port: (env: z.infer<z.ZodObject<S>>) => number;
  module: (env: z.infer<z.ZodObject<S>>) => DynamicModule;
  configure?: (app: NestFastifyApplication, env: z.infer<z.ZodObject<S>>) => void | Promise<void>;
  http?: (env: z.infer<z.ZodObject<S>>) => Omit<HttpServerOptions, 'trustProxy'>;
  /** The service registers its own body parsers in `configure` (Nest registers none). */
  ownBodyParser?: boolean;
  /** The service's own error answers (the gateway's API error shape); without them, Nest's and Fastify's defaults. */
  errors?: ServiceErrorHandlers;
}

/** A service's whole main: validate the environment (listing every problem), then boot and listen. */
export function runService<S extends typeof platformEnvShape & z.ZodRawShape>(def: ServiceDefinition<S>): void {
  runMain(async () => {
    const env = loadEnv(def.envShape);
    await bootstrapService(def.module(env), {
      port: def.port(env),
      host: env.HTTP_HOST as string,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS as number,
      configure: def.configure && ((app) => def.configure!(app, env)),
      http: { trustProxy: trustProxyOption(env.TRUST_PROXY as string), ...def.http?.(env) },
      errors: def.errors,
      ownBodyParser: def.ownBodyParser,
    });
  });
}
