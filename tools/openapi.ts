import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { loadEnv, repoRoot } from '@unstuck/config';
import { AppModule } from '../apps/api-gateway/src/app.module';
import { envShape } from '../apps/api-gateway/src/env';
import { API_PREFIX, buildOpenApi, UNPREFIXED } from '../apps/api-gateway/src/openapi';

/**
 * npm run docs:openapi — writes docs/openapi.json from the gateway's controllers. Preview mode builds the module
 * graph without instantiating providers, so no server needs to run.
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule.register(loadEnv(envShape, {})), new FastifyAdapter(), { preview: true, logger: false });
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED });
  const file = join(repoRoot(), 'docs', 'openapi.json');
  writeFileSync(file, `${JSON.stringify(buildOpenApi(app), null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
