import { RequestMethod, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** Paths outside /api/v1: probes and scrapes stay where platforms expect them. */
export const UNPREFIXED = [
  { path: 'health/live', method: RequestMethod.GET },
  { path: 'health/ready', method: RequestMethod.GET },
  { path: 'metrics', method: RequestMethod.GET },
];
export const API_PREFIX = 'api/v1';

/** The OpenAPI document, generated from the controllers and their TypeBox schemas. */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Unstuck API')
    .setDescription(
      'Stuck IBC packets, their clearing, and network, channel and relayer statistics. Errors are always {"error": {"code", "message"}}.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'from POST /api/v1/auth/verify' })
    .build();
  const doc = SwaggerModule.createDocument(app, config);
  // Stable output (the committed spec is compared with this): paths and schemas in name order.
  doc.paths = Object.fromEntries(Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b)));
  return doc;
}
