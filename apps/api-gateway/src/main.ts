import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { SwaggerModule } from '@nestjs/swagger';
import type { Redis } from 'ioredis';
import { REDIS } from '@unstuck/cache';
import { assertProductionInternalSecret, assertProductionSecret } from '@unstuck/auth';
import { repoRoot } from '@unstuck/config';
import { runService } from '@unstuck/platform';
import { AppModule } from './app.module';
import { AuthService } from './auth/auth.service';
import { envShape } from './env';
import { COMPRESS_THRESHOLD_BYTES, ENCODINGS } from './http/encoded-body';
import { clientErrorHandler, fastifyErrorHandler } from './http/errors';
import { serveDirectly } from './http/direct-route';
import { registerJsonBodyOnly } from './http/json-body';
import { registerRequestGuards } from './http/request-guards';
import { registerRateLimit } from './http/rate-limit';
import { registerSecurityHeaders } from './http/security-headers';
import { API_PREFIX, buildOpenApi, UNPREFIXED } from './openapi';
import { stuckLookup } from './packets/packets.controller';
import { PacketsService } from './packets/packets.service';
import { paymentRpcs } from './web-config.controller';

runService({
  envShape,
  port: (env) => env.GATEWAY_PORT,
  module: (env) => {
    assertProductionSecret(env);
    assertProductionInternalSecret(env);
    return AppModule.register(env);
  },
  // Path parameters up to 1000 characters reach the route, whose schema names the one that is too long (Fastify's
  // default, 100, answered a long value with "no such endpoint").
  http: (env) => ({ bodyLimit: env.BODY_LIMIT_BYTES, maxParamLength: 1_000, requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS, requireHostHeader: false }),
  ownBodyParser: true,
  errors: { handler: fastifyErrorHandler, clientError: clientErrorHandler },
  configure: async (app, env) => {
    app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED });
    const fastify = app.getHttpAdapter().getInstance();
    registerJsonBodyOnly(fastify, env.BODY_LIMIT_BYTES);
    registerRequestGuards(fastify, () => buildOpenApi(app));

    // Who is calling: a valid bearer token names the wallet (rate limits and wallet-scoped endpoints use it).
    const auth = app.get(AuthService);
    // (Callback style: most requests carry no token, and they should not pay for a promise.)
    fastify.addHook('onRequest', (request, _reply, done) => {
      const header = request.headers.authorization;
      if (!header?.startsWith('Bearer ')) return done();
      auth.walletOf(header.slice(7).trim()).then((who) => {
        request.auth = who;
        done();
      }, done);
    });

    // The notifier's websocket, and the RPCs the dashboard broadcasts payments to.
    registerSecurityHeaders(fastify, API_PREFIX, ['ws:', 'wss:', ...paymentRpcs(env.WEB_PAYMENT_RPCS).map((r) => r.origin)]);
    // The hottest lookup without Nest's per-request pipeline (same validation, same answer). It compresses its own
    // answers (a hot page once per second), so @fastify/compress, registered next, leaves the route alone.
    const packets = app.get(PacketsService);
    serveDirectly(fastify, 'GET', `/${API_PREFIX}/packets/stuck`, (request, reply) => stuckLookup(packets, request, reply), { compress: false, decompress: false });
    await app.register(cors, { origin: env.CORS_ORIGINS, credentials: false, maxAge: 600 });
    await app.register(compress, { threshold: COMPRESS_THRESHOLD_BYTES, encodings: [...ENCODINGS] });
    registerRateLimit(fastify, app.get<Redis>(REDIS), env);

    SwaggerModule.setup('docs', app, () => buildOpenApi(app), { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });

    // The dashboard build, when there is one.
    const web = resolve(repoRoot(), env.WEB_DIST_DIR);
    if (existsSync(join(web, 'index.html'))) await app.register(fastifyStatic, { root: web, prefix: '/', index: ['index.html'] });
  },
});
