import { Type, type Static } from '@sinclair/typebox';
import {
  ChainId,
  ChainPosition,
  ChannelId,
  IsoTime,
  PacketId,
  PortId,
  StuckKind,
  TimeoutHeight,
  TransferData,
  TxHash,
  UintString,
} from './common';

const PacketRoute = {
  dst_chain_id: Type.Optional(ChainId),
  dst_port: PortId,
  dst_channel: ChannelId,
  connection_id: Type.Optional(Type.String({ pattern: '^connection-[0-9]{1,19}$' })),
  channel_ordering: Type.Optional(Type.Union([Type.Literal('ORDER_UNORDERED'), Type.Literal('ORDER_ORDERED')])),
  timeout_height: TimeoutHeight,
  timeout_timestamp_ns: UintString,
};

export const PacketSentV1 = Type.Object(
  {
    packet: PacketId,
    ...PacketRoute,
    ...ChainPosition,
    tx_hash: Type.Union([TxHash, Type.Null()], {
      description: 'the sending transaction; null for a packet the chain sent at the block level (BeginBlock/EndBlock), with no transaction',
    }),
    /** ICS-20 data when the packet is a fungible token transfer; null for other applications. */
    transfer: Type.Union([TransferData, Type.Null()]),
    data_hex: Type.Optional(Type.String({ pattern: '^([0-9a-f]{2})*$', maxLength: 131072 })),
  },
  { $id: 'unstuck.packet.sent.v1', additionalProperties: false, description: 'send_packet seen on the source chain' },
);
export type PacketSentV1 = Static<typeof PacketSentV1>;

const RelayFields = {
  relayer: Type.String({ minLength: 1, maxLength: 128, description: 'signer of the relay message' }),
  effected: Type.Boolean({
    description: 'true for the first relay of this packet on chain; false when the relayer was frontrun',
  }),
};

export const PacketReceivedV1 = Type.Object(
  {
    packet: PacketId,
    ...PacketRoute,
    ...ChainPosition,
    ...RelayFields,
    ack_hex: Type.Optional(Type.String({ pattern: '^([0-9a-f]{2})*$', maxLength: 131072 })),
    ack_success: Type.Optional(Type.Boolean()),
    ack_pending: Type.Optional(
      Type.Boolean({
        description:
          'true when the receiving transaction wrote no acknowledgement: an async ack (packet-forward middleware, a contract) comes later as packet.ack_written; absent means written',
      }),
    ),
  },
  { $id: 'unstuck.packet.received.v1', additionalProperties: false, description: 'recv_packet on the destination' },
);
export type PacketReceivedV1 = Static<typeof PacketReceivedV1>;

export const PacketAckWrittenV1 = Type.Object(
  {
    packet: PacketId,
    ...PacketRoute,
    ...ChainPosition,
    tx_hash: Type.Union([TxHash, Type.Null()], { description: 'the transaction that wrote it; null when written at the block level' }),
    ack_hex: Type.Optional(Type.String({ pattern: '^([0-9a-f]{2})*$', maxLength: 131072 })),
    ack_success: Type.Optional(Type.Boolean()),
  },
  {
    $id: 'unstuck.packet.ack_written.v1',
    additionalProperties: false,
    description: 'write_acknowledgement on the destination after the receipt (an async acknowledgement)',
  },
);
export type PacketAckWrittenV1 = Static<typeof PacketAckWrittenV1>;

export const PacketAcknowledgedV1 = Type.Object(
  { packet: PacketId, ...PacketRoute, ...ChainPosition, ...RelayFields, ack_success: Type.Optional(Type.Boolean()) },
  {
    $id: 'unstuck.packet.acknowledged.v1',
    additionalProperties: false,
    description: 'acknowledge_packet on the source chain',
  },
);
export type PacketAcknowledgedV1 = Static<typeof PacketAcknowledgedV1>;

export const PacketTimedOutV1 = Type.Object(
  { packet: PacketId, ...PacketRoute, ...ChainPosition, ...RelayFields },
  { $id: 'unstuck.packet.timed_out.v1', additionalProperties: false, description: 'timeout_packet on the source' },
);
export type PacketTimedOutV1 = Static<typeof PacketTimedOutV1>;

export const PacketStuckV1 = Type.Object(
  {
    packet: PacketId,
    kind: StuckKind,
    dst_chain_id: Type.Optional(ChainId),
    dst_channel: ChannelId,
    sender: Type.Optional(Type.String({ maxLength: 256 })),
    receiver: Type.Optional(Type.String({ maxLength: 256 })),
    sent_at: IsoTime,
    detected_at: IsoTime,
  },
  { $id: 'unstuck.packet.stuck.v1', additionalProperties: false, description: 'a packet became stuck (once per kind)' },
);
export type PacketStuckV1 = Static<typeof PacketStuckV1>;

export const PacketUnstuckV1 = Type.Object(
  {
    packet: PacketId,
    kind: StuckKind,
    resolution: Type.Union([Type.Literal('received'), Type.Literal('acknowledged'), Type.Literal('timed_out')]),
    sender: Type.Optional(Type.String({ maxLength: 256 })),
    receiver: Type.Optional(Type.String({ maxLength: 256 })),
    resolved_at: IsoTime,
  },
  { $id: 'unstuck.packet.unstuck.v1', additionalProperties: false, description: 'a stuck packet moved on' },
);
export type PacketUnstuckV1 = Static<typeof PacketUnstuckV1>;

export const PacketNearTimeoutV1 = Type.Object(
  {
    packet: PacketId,
    dst_chain_id: Type.Optional(ChainId),
    dst_channel: ChannelId,
    sender: Type.Optional(Type.String({ maxLength: 256 })),
    receiver: Type.Optional(Type.String({ maxLength: 256 })),
    timeout_height: TimeoutHeight,
    timeout_timestamp_ns: UintString,
    /** Destination blocks left before the height timeout, when the packet has one and the destination is followed. */
    blocks_left: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Seconds left before the timestamp timeout, judged by the destination chain's latest block time. */
    seconds_left: Type.Optional(Type.Integer({ minimum: 0 })),
    detected_at: IsoTime,
  },
  {
    $id: 'unstuck.packet.near_timeout.v1',
    additionalProperties: false,
    description: 'a packet still awaiting receipt will time out soon (once per packet)',
  },
);
export type PacketNearTimeoutV1 = Static<typeof PacketNearTimeoutV1>;
