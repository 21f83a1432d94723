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

/**
 * Traffic ingest sees but does not track yet: counted by reason (ingest_unsupported_total), never dead-lettered as
 * malformed. `ibc_v2`: IBC v2 / ibc-go v10 packets (client ids instead of channels, payloads);
 * `ics20_v2_multi_token`: an ICS-20 v2 transfer of several tokens.
 */
export class UnsupportedPacketError extends Error {
  constructor(
    readonly reason: 'ibc_v2' | 'ics20_v2_multi_token',
    message: string,
  ) {
    super(message);
    this.name = 'UnsupportedPacketError';
  }
}
