export { BreakerOpenError, createBreaker, DEFAULT_BREAKER, type BreakerOptions } from './breaker';
export { DEFAULT_HTTP_CLIENT, HttpError, KeepAliveHttpClient, parseJson, type HttpClientOptions } from './http-client';
export { backoffDelay, isTransientError, retry, type RetryOptions } from './retry';
export { SingleFlight } from './single-flight';
