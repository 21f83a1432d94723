import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { assertProductionSecret } from '@unstuck/auth';
import { repoRoot } from '@unstuck/config';
import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { AuthService } from './auth/auth.service';
import { envShape } from './env';
import { fastifyErrorHandler } from './http/errors';
import { registerRateLimit } from './http/rate-limit';
import { API_PREFIX, buildOpenApi, UNPREFIXED } from './openapi';
import { paymentRpcs } from './web-config.controller';

runService({
  envShape,
  port: (env) => env.GATEWAY_PORT,
  module: (env) => {
    assertProductionSecret(env);
    return AppModule.register(env);
  },
  http: (env) => ({ bodyLimit: env.BODY_LIMIT_BYTES }),
  configure: async (app, env) => {
    app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.setErrorHandler(fastifyErrorHandler);

    // Who is calling: a valid bearer token names the wallet (rate limits and wallet-scoped endpoints use it).
    const auth = app.get(AuthService);
    fastify.addHook('onRequest', async (request) => {
      const header = request.headers.authorization;
      if (header?.startsWith('Bearer ')) request.auth = await auth.walletOf(header.slice(7).trim());
    });

    // helmet's security headers, its middleware built once: @fastify/helmet 13 builds it again on every request
    // (parsing the CSP each time), which was 14 % of the gateway's CPU on cached lookups.
    const securityHeaders = helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          styleSrc: ["'self'", "'unsafe-inline'"],
          scriptSrc: ["'self'"],
          // The notifier's websocket, and the RPCs the dashboard broadcasts payments to.
          connectSrc: ["'self'", 'ws:', 'wss:', ...paymentRpcs(env.WEB_PAYMENT_RPCS).map((r) => r.origin)],
        },
      },
    });
    fastify.addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)));
    await app.register(cors, { origin: env.CORS_ORIGINS, credentials: false, maxAge: 600 });
    await app.register(compress, { threshold: 1024, encodings: ['br', 'gzip'] });
    await registerRateLimit(app, env);

    SwaggerModule.setup('docs', app, () => buildOpenApi(app), { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });

    // The dashboard build, when there is one.
    const web = resolve(repoRoot(), env.WEB_DIST_DIR);
    if (existsSync(join(web, 'index.html'))) await app.register(fastifyStatic, { root: web, prefix: '/', index: ['index.html'] });
  },
});
