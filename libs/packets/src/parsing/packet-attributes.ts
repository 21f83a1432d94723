import type { AbciEvent } from './abci-events';
import { MalformedEventError } from './errors';

/** The packet described by an ibc-go packet event (send_packet, recv_packet, write_acknowledgement, ...). */
export interface PacketAttributes {
  sequence: string;
  srcPort: string;
  srcChannel: string;
  dstPort: string;
  dstChannel: string;
  timeoutHeight: { revision_number: string; revision_height: string };
  timeoutTimestampNs: string;
  /** Lower-case hex; undefined for events that carry no data (acknowledge_packet, timeout_packet). */
  dataHex: string | undefined;
  ackHex: string | undefined;
  connectionId: string | undefined;
  ordering: 'ORDER_UNORDERED' | 'ORDER_ORDERED' | undefined;
  msgIndex: number | undefined;
}

const MAX_INT64 = 9_223_372_036_854_775_807n;
const MAX_UINT64 = 18_446_744_073_709_551_615n;
const CHANNEL = /^channel-[0-9]{1,19}$/;
const PORT = /^[A-Za-z0-9._+\-#[\]<>]{2,128}$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function required(e: AbciEvent, key: string): string {
  const v = e.attributes.get(key);
  if (v === undefined || v === '') throw new MalformedEventError('missing_attribute', `${e.type} has no ${key}`);
  return v;
}

function uint(value: string, what: string, max: bigint, min = 0n): string {
  if (!/^[0-9]{1,20}$/.test(value)) throw new MalformedEventError('absurd_value', `${what} is not an unsigned integer: ${value.slice(0, 40)}`);
  const n = BigInt(value);
  if (n < min || n > max) throw new MalformedEventError('absurd_value', `${what} ${value} is out of range`);
  return n.toString();
}

function pattern(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) throw new MalformedEventError('absurd_value', `${what} is not valid: ${value.slice(0, 80)}`);
  return value;
}

/**
 * Bytes from the `<name>_hex` attribute, or from the deprecated `<name>` attribute (UTF-8 text) that older chains
 * emit alone. Hex wins when both are present: it is exact for non-UTF-8 data.
 */
function bytesAttribute(e: AbciEvent, name: string): string | undefined {
  const hex = e.attributes.get(`${name}_hex`);
  if (hex !== undefined && hex !== '') {
    if (!HEX.test(hex)) throw new MalformedEventError('bad_hex', `${e.type} ${name}_hex is not hex`);
    return hex.toLowerCase();
  }
  const text = e.attributes.get(name);
  return text === undefined || text === '' ? undefined : Buffer.from(text, 'utf8').toString('hex');
}

/** "1-5825355" → revision 1, height 5825355; "0-0" means no height timeout. */
function timeoutHeight(raw: string): { revision_number: string; revision_height: string } {
  const m = /^([0-9]{1,20})-([0-9]{1,20})$/.exec(raw);
  if (!m) throw new MalformedEventError('absurd_value', `packet_timeout_height is not "<revision>-<height>": ${raw.slice(0, 40)}`);
  return {
    revision_number: uint(m[1]!, 'timeout revision number', MAX_UINT64),
    revision_height: uint(m[2]!, 'timeout revision height', MAX_UINT64),
  };
}

export function parsePacketAttributes(e: AbciEvent): PacketAttributes {
  const ordering = e.attributes.get('packet_channel_ordering');
  const msgIndex = e.attributes.get('msg_index');
  return {
    // ibc-go sequences start at 1; past int64 they are not something a real chain produces.
    sequence: uint(required(e, 'packet_sequence'), 'packet_sequence', MAX_INT64, 1n),
    srcPort: pattern(required(e, 'packet_src_port'), PORT, 'packet_src_port'),
    srcChannel: pattern(required(e, 'packet_src_channel'), CHANNEL, 'packet_src_channel'),
    dstPort: pattern(required(e, 'packet_dst_port'), PORT, 'packet_dst_port'),
    dstChannel: pattern(required(e, 'packet_dst_channel'), CHANNEL, 'packet_dst_channel'),
    timeoutHeight: timeoutHeight(e.attributes.get('packet_timeout_height') || '0-0'),
    timeoutTimestampNs: uint(e.attributes.get('packet_timeout_timestamp') || '0', 'packet_timeout_timestamp', MAX_UINT64),
    dataHex: bytesAttribute(e, 'packet_data'),
    ackHex: bytesAttribute(e, 'packet_ack'),
    connectionId: e.attributes.get('connection_id') || e.attributes.get('packet_connection') || undefined,
    ordering: ordering === 'ORDER_ORDERED' || ordering === 'ORDER_UNORDERED' ? ordering : undefined,
    msgIndex: msgIndex !== undefined && /^[0-9]{1,6}$/.test(msgIndex) ? Number(msgIndex) : undefined,
  };
}
