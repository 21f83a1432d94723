import { envVar } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';

export const envShape = {
  ...platformEnvShape,
  NOTIFIER_PORT: envVar.port(3004),
};

type Shape = typeof envShape;
export type AppEnv = { [K in keyof Shape]: Shape[K]['_output'] };
