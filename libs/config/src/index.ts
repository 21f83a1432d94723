export { EnvValidationError, envVar, loadEnv, serviceEnvShape, type EnvOf } from './env';
export { repoRoot } from './repo-root';
