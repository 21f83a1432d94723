import { envVar, type EnvOf } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  GATEWAY_PORT: envVar.port(3000),
};

export type AppEnv = EnvOf<typeof envShape>;
