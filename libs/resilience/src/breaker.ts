import CircuitBreaker from 'opossum';
import { metric } from '@unstuck/observability';

export interface BreakerOptions {
  /** A call slower than this counts as a failure (ms); false disables the timeout. */
  timeoutMs: number | false;
  /** Percentage of failures in the rolling window that opens the breaker. */
  errorThresholdPercentage: number;
  /** How long the breaker stays open before one trial call (ms). */
  resetTimeoutMs: number;
  /** Calls in the window before the percentage is judged at all. */
  volumeThreshold: number;
  rollingCountTimeoutMs: number;
  /** Errors for which this returns true do not count against the breaker (e.g. a 4xx caused by the caller). */
  isCallerError?: (err: unknown) => boolean;
}

export const DEFAULT_BREAKER: BreakerOptions = {
  timeoutMs: 10_000,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 10_000,
  volumeThreshold: 5,
  rollingCountTimeoutMs: 10_000,
};

const STATE_VALUE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** Thrown instead of calling through while the breaker is open: fail fast, don't pile up timeouts. */
export class BreakerOpenError extends Error {
  constructor(readonly breaker: string, readonly retryAfterMs: number) {
    super(`${breaker} is unavailable (circuit open); retry in ${Math.ceil(retryAfterMs / 1000)} s`);
    this.name = 'BreakerOpenError';
  }
}

/** An opossum breaker around `action`, exporting its state and outcomes as metrics labelled by `name`. */
export function createBreaker<A extends unknown[], R>(
  name: string,
  action: (...args: A) => Promise<R>,
  options: Partial<BreakerOptions> = {},
): { fire: (...args: A) => Promise<R>; breaker: CircuitBreaker<A, R> } {
  const o = { ...DEFAULT_BREAKER, ...options };
  const breaker = new CircuitBreaker<A, R>(action, {
    name,
    timeout: o.timeoutMs,
    errorThresholdPercentage: o.errorThresholdPercentage,
    resetTimeout: o.resetTimeoutMs,
    volumeThreshold: o.volumeThreshold,
    rollingCountTimeout: o.rollingCountTimeoutMs,
    errorFilter: o.isCallerError,
  });
  const state = metric.gauge({
    name: 'circuit_breaker_state',
    help: 'circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['breaker'],
  });
  const events = metric.counter({
    name: 'circuit_breaker_events_total',
    help: 'circuit breaker outcomes (success, failure, timeout, reject, open, close, halfOpen)',
    labelNames: ['breaker', 'event'],
  });
  state.set({ breaker: name }, STATE_VALUE.closed);
  breaker.on('open', () => state.set({ breaker: name }, STATE_VALUE.open));
  breaker.on('halfOpen', () => state.set({ breaker: name }, STATE_VALUE.halfOpen));
  breaker.on('close', () => state.set({ breaker: name }, STATE_VALUE.closed));
  const emitter = breaker as unknown as NodeJS.EventEmitter;
  for (const event of ['success', 'failure', 'timeout', 'reject', 'open', 'close', 'halfOpen']) {
    emitter.on(event, () => events.inc({ breaker: name, event }));
  }
  let openedAt = 0;
  breaker.on('open', () => (openedAt = Date.now()));

  const fire = async (...args: A): Promise<R> => {
    try {
      return await breaker.fire(...args);
    } catch (e) {
      if (breaker.opened && (e as { code?: string }).code === 'EOPENBREAKER') {
        throw new BreakerOpenError(name, Math.max(0, openedAt + o.resetTimeoutMs - Date.now()));
      }
      throw e;
    }
  };
  return { fire, breaker };
}
