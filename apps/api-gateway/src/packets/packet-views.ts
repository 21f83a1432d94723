import { Type, type Static } from '@sinclair/typebox';
import { ChainId, ChannelId, IsoTime, PortId, StuckKind, TxHash, UintString } from '@unstuck/contracts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** One packet as the API shows it in lists. */
export const PacketSummary = Type.Object({
  src_chain_id: ChainId,
  src_port: PortId,
  src_channel: ChannelId,
  sequence: UintString,
  dst_chain_id: Nullable(Type.String()),
  dst_channel: Nullable(Type.String()),
  status: Type.Union([Type.Literal('sent'), Type.Literal('received'), Type.Literal('acknowledged'), Type.Literal('timed_out')]),
  stuck_kind: Type.Union([StuckKind, Type.Null()]),
  stuck_since: Nullable(IsoTime),
  sender: Nullable(Type.String()),
  receiver: Nullable(Type.String()),
  denom: Nullable(Type.String()),
  amount: Nullable(UintString),
  sent_at: Nullable(IsoTime),
  timeout_height: Type.String({ description: '"revision-height"; "0-0" when the packet has no height timeout' }),
  timeout_at: Nullable(IsoTime),
  created_at: IsoTime,
});
export type PacketSummary = Static<typeof PacketSummary>;

/** A stuck packet of a wallet, with what the owner needs to decide. */
export const StuckPacket = Type.Composite([
  PacketSummary,
  Type.Object({
    role: Type.Union([Type.Literal('sender'), Type.Literal('receiver')]),
    age_seconds: Type.Integer({ minimum: 0 }),
    seconds_to_timeout: Type.Union([Type.Integer(), Type.Null()], { description: 'negative once the timeout has passed; null without a timestamp timeout' }),
  }),
]);
export type StuckPacket = Static<typeof StuckPacket>;

export const RelayView = Type.Object({
  kind: Type.Union([Type.Literal('recv'), Type.Literal('ack'), Type.Literal('timeout')]),
  chain_id: ChainId,
  relayer: Type.String(),
  effected: Type.Boolean({ description: 'true for the relay that landed first; false when it was frontrun' }),
  tx_hash: TxHash,
  height: UintString,
  block_time: IsoTime,
});

/** One packet's whole lifecycle. */
export const PacketDetail = Type.Composite([
  PacketSummary,
  Type.Object({
    dst_port: Nullable(Type.String()),
    memo: Nullable(Type.String()),
    send: Type.Object({ height: Nullable(UintString), time: Nullable(IsoTime), tx_hash: Nullable(TxHash) }),
    recv: Type.Object({ height: Nullable(UintString), time: Nullable(IsoTime), tx_hash: Nullable(TxHash), relayer: Nullable(Type.String()) }),
    ack_written: Type.Object(
      {
        pending: Type.Boolean({ description: 'received, but the destination has not written its acknowledgement yet (an async ack): nothing to relay back, not clearable' }),
        height: Nullable(UintString),
        time: Nullable(IsoTime),
      },
      { description: 'where the destination wrote the acknowledgement: the receipt itself, or later for an async ack' },
    ),
    ack: Type.Object({
      height: Nullable(UintString),
      time: Nullable(IsoTime),
      tx_hash: Nullable(TxHash),
      relayer: Nullable(Type.String()),
      success: Type.Union([Type.Boolean(), Type.Null()]),
    }),
    timeout: Type.Object({ time: Nullable(IsoTime), tx_hash: Nullable(TxHash), relayer: Nullable(Type.String()) }),
    relay_attempts: Type.Integer({ minimum: 0 }),
    clear_time_ms: Type.Union([Type.Integer(), Type.Null()]),
    relays: Type.Array(RelayView),
  }),
]);
export type PacketDetail = Static<typeof PacketDetail>;

/** The packet_flow columns the summary needs, as SQL. */
export const SUMMARY_COLUMNS = `f.id::text AS id, f.created_at,
  to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_us, f.src_chain_id, f.src_port, f.src_channel, f.sequence::text AS sequence,
  f.dst_chain_id, f.dst_channel, f.status, f.stuck_kind, f.stuck_since, f.sender, f.receiver, f.denom, f.amount::text AS amount,
  f.send_time, f.timeout_revision_number::text AS timeout_revision_number, f.timeout_revision_height::text AS timeout_revision_height,
  f.timeout_timestamp_ns::text AS timeout_timestamp_ns`;

export interface SummaryRow {
  id: string;
  created_at: Date;
  /** created_at to the microsecond (a JavaScript Date keeps milliseconds): the keyset needs the exact value. */
  created_at_us: string;
  src_chain_id: string;
  src_port: string;
  src_channel: string;
  sequence: string;
  dst_chain_id: string | null;
  dst_channel: string | null;
  status: PacketSummary['status'];
  stuck_kind: PacketSummary['stuck_kind'];
  stuck_since: Date | null;
  sender: string | null;
  receiver: string | null;
  denom: string | null;
  amount: string | null;
  send_time: Date | null;
  timeout_revision_number: string;
  timeout_revision_height: string;
  timeout_timestamp_ns: string;
}

export const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The timeout timestamp (ns since epoch, "0" = none) as a time. */
export function timeoutAt(ns: string): Date | null {
  if (!ns || ns === '0') return null;
  return new Date(Number(BigInt(ns) / 1_000_000n));
}

export function toSummary(r: SummaryRow): PacketSummary {
  return {
    src_chain_id: r.src_chain_id,
    src_port: r.src_port,
    src_channel: r.src_channel,
    sequence: r.sequence,
    dst_chain_id: r.dst_chain_id,
    dst_channel: r.dst_channel,
    status: r.status,
    stuck_kind: r.stuck_kind,
    stuck_since: iso(r.stuck_since),
    sender: r.sender,
    receiver: r.receiver,
    denom: r.denom,
    amount: r.amount,
    sent_at: iso(r.send_time),
    timeout_height: `${r.timeout_revision_number}-${r.timeout_revision_height}`,
    timeout_at: iso(timeoutAt(r.timeout_timestamp_ns)),
    created_at: r.created_at.toISOString(),
  };
}

