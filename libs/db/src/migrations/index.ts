import { InitialSchema1732100000000 } from './1732100000000-initial-schema';
import { PerformanceIndexes1732100000001 } from './1732100000001-performance-indexes';
import { MaterializedViews1732100000002 } from './1732100000002-materialized-views';
import { StatsSchema1732100000003 } from './1732100000003-stats-schema';
import { StatsIndexes1732100000004 } from './1732100000004-stats-indexes';
import { GatewayIndexes1732100000005 } from './1732100000005-gateway-indexes';
import { Clearing1732100000006 } from './1732100000006-clearing';
import { ClearingRefusedPayments1732100000007 } from './1732100000007-clearing-refused-payments';
import { PacketFlowOneUniqueKey1732100000008 } from './1732100000008-packet-flow-one-unique-key';
import { IngestGaps1732100000009 } from './1732100000009-ingest-gaps';
import { AsyncAcknowledgements1732100000010 } from './1732100000010-async-acknowledgements';
import { ChannelCounterparties1732100000011 } from './1732100000011-channel-counterparties';
import { ClearingPacketHolds1732100000012 } from './1732100000012-clearing-packet-holds';
import { HotWalletSequences1732100000013 } from './1732100000013-hot-wallet-sequences';
import { PaymentsAnyCoin1732100000014 } from './1732100000014-payments-any-coin';
import { ChannelPending1732100000015 } from './1732100000015-channel-pending';

/** In order. Listed explicitly (not globbed) so the built JS and the tests run the same migrations. */
export const MIGRATIONS = [
  InitialSchema1732100000000,
  PerformanceIndexes1732100000001,
  MaterializedViews1732100000002,
  StatsSchema1732100000003,
  StatsIndexes1732100000004,
  GatewayIndexes1732100000005,
  Clearing1732100000006,
  ClearingRefusedPayments1732100000007,
  PacketFlowOneUniqueKey1732100000008,
  IngestGaps1732100000009,
  AsyncAcknowledgements1732100000010,
  ChannelCounterparties1732100000011,
  ClearingPacketHolds1732100000012,
  HotWalletSequences1732100000013,
  PaymentsAnyCoin1732100000014,
  ChannelPending1732100000015,
];
export { PERFORMANCE_INDEXES } from './1732100000001-performance-indexes';
export { PACKET_FLOW_INDEXES, STATS_TABLE_INDEXES } from './1732100000004-stats-indexes';
export { GATEWAY_PACKET_FLOW_INDEXES } from './1732100000005-gateway-indexes';
