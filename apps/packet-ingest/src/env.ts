import { envVar, type EnvOf } from '@unstuck/config';
import { ingestEnvShape } from '@unstuck/packets';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  ...ingestEnvShape,
  INGEST_PORT: envVar.port(3002),
};

export type AppEnv = EnvOf<typeof envShape>;
