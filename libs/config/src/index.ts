export { EnvValidationError, envVar, loadEnv, serviceEnvShape } from './env';
