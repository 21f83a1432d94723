export { bootstrapService, runMain, type BootstrapOptions, type HttpServerOptions, type ServiceErrorHandlers } from './bootstrap';
export { isProbeOrScrape, loggerModule, logRequest, REDACTED_PATHS } from './logger';
export { MemoryPressureMonitor, type PressureLevel, type Shedder } from './memory-pressure';
export { httpRequestDuration, initMetrics, metric, metricsRegistry } from './metrics';
export { ObservabilityModule, type ObservabilityOptions } from './observability.module';
export { LifecycleState, READINESS_CHECKS, type ReadinessCheck } from './readiness';
export { clientAddress, clientKey, proxyTrust } from './client-address';
