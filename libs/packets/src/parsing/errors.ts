/** Why an event or transaction could not be turned into packet events; it is dead-lettered with this reason. */
export class MalformedEventError extends Error {
  constructor(
    readonly reason: 'missing_attribute' | 'bad_hex' | 'invalid_json' | 'absurd_value' | 'bad_tx' | 'unknown_counterparty',
    message: string,
  ) {
    super(message);
    this.name = 'MalformedEventError';
  }
}
