import { ClearingOperation, ClearingOperationPacket, ClearingToken, Payment, Refund } from './clearing.entities';
import { IngestCursor, PacketFlow, PacketKey, PacketRelay } from './packet.entities';
import { ChannelPerformance, NetworkStats, RelayerPerformance } from './stats.entities';

export * from './clearing.entities';
export * from './packet.entities';
export * from './stats.entities';

export const ENTITIES = [
  IngestCursor,
  PacketKey,
  PacketFlow,
  PacketRelay,
  ClearingOperation,
  ClearingOperationPacket,
  ClearingToken,
  Payment,
  Refund,
  NetworkStats,
  ChannelPerformance,
  RelayerPerformance,
];
