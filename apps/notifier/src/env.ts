import { envVar, type EnvOf } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  NOTIFIER_PORT: envVar.port(3004),
};

export type AppEnv = EnvOf<typeof envShape>;
