import { envVar, type EnvOf } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  STATS_PORT: envVar.port(3003),
};

export type AppEnv = EnvOf<typeof envShape>;
