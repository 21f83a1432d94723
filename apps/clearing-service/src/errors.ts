/** A refusal the caller can act on: HTTP status, a stable code and a message naming the problem. */
export class ClearingError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ClearingError';
  }
}
