export { browserFacingEnvShape, platformEnvShape, PlatformModule, type PlatformEnv, type PlatformOptions } from './platform.module';
export { runService, type ServiceDefinition } from './run-service';
