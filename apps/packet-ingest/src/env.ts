import { envVar } from '@unstuck/config';
import { ingestEnvShape } from '@unstuck/packets';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  ...ingestEnvShape,
  INGEST_PORT: envVar.port(3002),
};

type Shape = typeof envShape;
export type AppEnv = { [K in keyof Shape]: Shape[K]['_output'] };
