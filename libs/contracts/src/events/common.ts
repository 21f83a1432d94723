import { Type, type Static } from '@sinclair/typebox';

/** Decimal digits only: uint64 sequences and token amounts exceed JavaScript's safe integers, so they travel as strings. */
export const UintString = Type.String({ pattern: '^(0|[1-9][0-9]{0,77})$', description: 'unsigned integer in decimal' });
export const IsoTime = Type.String({ format: 'date-time', description: 'RFC 3339 UTC timestamp' });
/** The most packets one clearing quote may name (the gateway's schema and clearing-service's CLEARING_MAX_PACKETS bound). */
export const QUOTE_MAX_PACKETS = 50;
/** An IBC packet sequence as a caller gives it: a uint64 in decimal, from 1. */
export const PacketSequence = Type.String({ pattern: '^[1-9][0-9]{0,19}$', format: 'uint64', maxLength: 20, description: 'packet sequence: decimal, 1 to 18446744073709551615 (IBC uint64)' });
export const ChainId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' });
export const PortId = Type.String({ minLength: 2, maxLength: 128, pattern: '^[A-Za-z0-9._+\\-#\\[\\]<>]+$' });
export const ChannelId = Type.String({ pattern: '^channel-[0-9]{1,19}$', maxLength: 27 });
export const TxHash = Type.String({ pattern: '^[0-9A-F]{64}$', description: 'upper-case hex SHA-256 of the tx bytes' });
export const Bech32Address = Type.String({ minLength: 8, maxLength: 128, pattern: '^[a-z0-9]{1,83}1[02-9ac-hj-np-z]{6,}$' });

/** The identity of a packet: its source side, as ibc-go keys commitments. */
export const PacketId = Type.Object(
  {
    src_chain_id: ChainId,
    src_port: PortId,
    src_channel: ChannelId,
    sequence: UintString,
  },
  { additionalProperties: false },
);
export type PacketId = Static<typeof PacketId>;

export const TimeoutHeight = Type.Object(
  { revision_number: UintString, revision_height: UintString },
  { additionalProperties: false, description: 'from packet_timeout_height "1-5825355"; 0-0 means no height timeout' },
);

/** ICS-20 fungible token packet data. */
export const TransferData = Type.Object(
  {
    denom: Type.String({ minLength: 1, maxLength: 512 }),
    amount: UintString,
    sender: Type.String({ minLength: 1, maxLength: 256 }),
    receiver: Type.String({ minLength: 1, maxLength: 256 }),
    memo: Type.Optional(Type.String({ maxLength: 32768 })),
  },
  { additionalProperties: false },
);
export type TransferData = Static<typeof TransferData>;

/** Where on chain an event was seen. */
export const ChainPosition = {
  chain_id: ChainId,
  height: UintString,
  block_time: IsoTime,
  tx_hash: TxHash,
  msg_index: Type.Integer({ minimum: 0 }),
};

export const StuckKind = Type.Union([
  Type.Literal('awaiting_recv'),
  Type.Literal('awaiting_ack'),
  Type.Literal('timeout_pending'),
]);
export type StuckKind = Static<typeof StuckKind>;
