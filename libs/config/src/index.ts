export { EnvValidationError, envVar, loadEnv, serviceEnvShape } from './env';
export { repoRoot } from './repo-root';
