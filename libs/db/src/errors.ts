const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/**
 * True when the error says the server could not be reached or went away (as opposed to an error in the query),
 * so the same read may be answered by another server.
 */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not initialized/i.test(msg)) {
    return true;
  }
  return e.driverError !== undefined && e.driverError !== err && isConnectionError(e.driverError);
}

/** A replica cancelled the query because of a conflict with WAL replay: the primary can answer it. */
export function isRecoveryConflict(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return !!e && e.code === '40001' && typeof e.message === 'string' && /conflict with recovery/i.test(e.message);
}

/**
 * The rows of a query result. TypeORM answers UPDATE and DELETE with `[rows, affectedCount]` instead of the rows
 * INSERT and SELECT give, so a `RETURNING` on them needs unwrapping.
 */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/**
 * PostgreSQL refused a value the query carried (SQLSTATE class 22, data exception: a number out of range, text
 * that is not a number): the caller's input, never a failing database — answered as a 4xx, never counted by a breaker.
 */
export function isDataException(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; driverError?: unknown };
  if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) return true;
  return e.driverError !== undefined && e.driverError !== err && isDataException(e.driverError);
}
