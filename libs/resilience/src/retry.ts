import { backOff } from 'exponential-backoff';

export interface RetryOptions {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Only errors for which this is true are retried; everything else fails at once. */
  isRetryable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number) => void;
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Network failures, timeouts and 408/425/429/5xx are worth another try; a 4xx caused by the request is not. */
export function isTransientError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; status?: unknown; cause?: unknown; retryable?: unknown };
  if (typeof e.retryable === 'boolean') return e.retryable;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.status === 'number') return TRANSIENT_STATUS.has(e.status);
  return e.cause !== undefined && e.cause !== err && isTransientError(e.cause);
}

/** Exponential backoff with full jitter (a random delay up to the exponential bound), retrying transient errors only. */
export function retry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const isRetryable = options.isRetryable ?? isTransientError;
  return backOff(fn, {
    numOfAttempts: options.attempts,
    startingDelay: options.initialDelayMs,
    maxDelay: options.maxDelayMs,
    timeMultiple: 2,
    jitter: 'full',
    delayFirstAttempt: false,
    retry: (err: unknown, attempt: number) => {
      if (!isRetryable(err)) return false;
      options.onRetry?.(err, attempt);
      return true;
    },
  });
}

/**
 * Delay for the n-th retry (1-based) with "equal jitter": half the exponential bound plus a random part of the other
 * half, so a redelivery is never immediate. Used where the caller schedules the retry itself (JetStream nak).
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const bound = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(bound / 2 + (random() * bound) / 2);
}
