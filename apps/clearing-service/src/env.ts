import { envVar, type EnvOf } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  CLEARING_PORT: envVar.port(3001),
};

export type AppEnv = EnvOf<typeof envShape>;
