import { envVar, type EnvOf } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';
import { statsEnvShape } from '@unstuck/stats';

export const envShape = {
  ...platformEnvShape,
  ...statsEnvShape,
  STATS_PORT: envVar.port(3003),
};

export type AppEnv = EnvOf<typeof envShape>;
