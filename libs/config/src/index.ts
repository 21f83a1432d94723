export { EnvValidationError, envVar, loadEnv, serviceEnvShape, trustProxyOption, type EnvOf } from './env';
export { repoRoot } from './repo-root';
