/**
 * A dependency the service needs. Critical dependencies make /health/ready answer 503 when they fail; the others
 * are reported as degraded (the service keeps serving without them: the replica falls back to the primary, the
 * cache to the loader), so losing one does not pull every pod out of the load balancer at once.
 */
export interface ReadinessCheck {
  readonly name: string;
  readonly critical: boolean;
  /** Resolves when the dependency answers; rejects with the reason when it does not. */
  check(): Promise<Record<string, unknown> | void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** Set when shutdown begins, so readiness fails first and the load balancer stops sending new requests. */
export class LifecycleState {
  shuttingDown = false;
}
