import { BinaryReader, BinaryWriter } from 'cosmjs-types/binary';
import type { TransferData } from '@unstuck/contracts';
import { MalformedEventError, UnsupportedPacketError } from './errors';

interface TokenV2 {
  base: string;
  trace: Array<{ port: string; channel: string }>;
  amount: string;
}

/** Length-delimited fields of one protobuf message, read strictly: an unknown wire type or a short read throws. */
function fields(bytes: Uint8Array, onField: (field: number, reader: BinaryReader, wireType: number) => void): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0 || wireType > 5 || wireType === 3 || wireType === 4) throw new Error(`bad tag ${tag}`);
    onField(field, reader, wireType);
  }
  if (reader.pos !== reader.len) throw new Error('trailing bytes');
}

const stringField = (reader: BinaryReader, wireType: number) => {
  if (wireType !== 2) throw new Error('expected a string');
  return reader.string();
};
const messageField = (reader: BinaryReader, wireType: number) => {
  if (wireType !== 2) throw new Error('expected a message');
  return reader.bytes();
};

/**
 * ICS-20 v2 packet data (ibc-go v9 `ics20-2` channels): FungibleTokenPacketDataV2 in protobuf — tokens (each a denom
 * {base, trace of port/channel hops} and an amount), sender, receiver, memo, forwarding. Throws when the bytes are
 * not that message.
 */
export function decodeTransferDataV2(bytes: Uint8Array): { tokens: TokenV2[]; sender: string; receiver: string; memo: string; forwarding: boolean } {
  const out = { tokens: [] as TokenV2[], sender: '', receiver: '', memo: '', forwarding: false };
  fields(bytes, (field, r, wt) => {
    if (field === 1) {
      const token: TokenV2 = { base: '', trace: [], amount: '' };
      fields(messageField(r, wt), (tf, tr, twt) => {
        if (tf === 1) {
          fields(messageField(tr, twt), (df, dr, dwt) => {
            if (df === 1) token.base = stringField(dr, dwt);
            else if (df === 3) {
              const hop = { port: '', channel: '' };
              fields(messageField(dr, dwt), (hf, hr, hwt) => {
                if (hf === 1) hop.port = stringField(hr, hwt);
                else if (hf === 2) hop.channel = stringField(hr, hwt);
                else hr.skipType(hwt);
              });
              token.trace.push(hop);
            } else dr.skipType(dwt);
          });
        } else if (tf === 2) token.amount = stringField(tr, twt);
        else tr.skipType(twt);
      });
      out.tokens.push(token);
    } else if (field === 2) out.sender = stringField(r, wt);
    else if (field === 3) out.receiver = stringField(r, wt);
    else if (field === 4) out.memo = stringField(r, wt);
    else if (field === 5) {
      const forwarding = messageField(r, wt);
      out.forwarding = forwarding.length > 0;
    } else r.skipType(wt);
  });
  return out;
}

/** FungibleTokenPacketDataV2 as ibc-go v9 encodes it (protobuf; field numbers from ibc/applications/transfer/v2/packet.proto). */
export function encodeTransferDataV2(d: { tokens: TokenV2[]; sender: string; receiver: string; memo?: string }): Uint8Array {
  const w = new BinaryWriter();
  for (const t of d.tokens) {
    const token = w.uint32(10).fork();
    const denom = token.uint32(10).fork();
    denom.uint32(10).string(t.base);
    for (const hop of t.trace) denom.uint32(26).fork().uint32(10).string(hop.port).uint32(18).string(hop.channel).ldelim();
    denom.ldelim();
    token.uint32(18).string(t.amount);
    token.ldelim();
  }
  w.uint32(18).string(d.sender).uint32(26).string(d.receiver);
  if (d.memo) w.uint32(34).string(d.memo);
  return w.finish();
}

/** A v2 packet with one token as the TransferData every consumer reads (denom as its trace path: port/channel/…/base). */
function transferFromV2(bytes: Uint8Array): TransferData {
  let v2: ReturnType<typeof decodeTransferDataV2>;
  try {
    v2 = decodeTransferDataV2(bytes);
  } catch (e) {
    throw new MalformedEventError('invalid_json', `ICS-20 packet data is neither JSON (ics20-1) nor FungibleTokenPacketDataV2 protobuf (ics20-2): ${(e as Error).message}`);
  }
  if (!v2.sender || !v2.receiver || v2.tokens.length === 0) {
    throw new MalformedEventError('missing_attribute', 'ICS-20 v2 packet data lacks tokens, sender or receiver');
  }
  if (v2.tokens.length > 1) throw new UnsupportedPacketError('ics20_v2_multi_token', `ICS-20 v2 packet with ${v2.tokens.length} tokens`);
  const token = v2.tokens[0]!;
  if (!/^(0|[1-9][0-9]{0,77})$/.test(token.amount)) throw new MalformedEventError('absurd_value', `ICS-20 v2 amount is not an unsigned integer: ${token.amount.slice(0, 80)}`);
  if (!token.base) throw new MalformedEventError('missing_attribute', 'ICS-20 v2 token has no base denom');
  const denom = [...token.trace.map((h) => `${h.port}/${h.channel}`), token.base].join('/');
  const transfer: TransferData = { denom: denom.slice(0, 512), amount: token.amount, sender: v2.sender.slice(0, 256), receiver: v2.receiver.slice(0, 256) };
  if (v2.memo) transfer.memo = v2.memo.slice(0, 32768);
  return transfer;
}

/**
 * ICS-20 FungibleTokenPacketData from packet bytes: JSON (ics20-1), or on the transfer port protobuf
 * FungibleTokenPacketDataV2 (ics20-2, ibc-go v9) with one token. Returns null for packets of other applications
 * (ICA, CCV, wasm): those are tracked as packets, without transfer details. A transfer port whose data is neither
 * is malformed; a v2 packet of several tokens is UnsupportedPacketError.
 */
export function decodeTransferData(dataHex: string | undefined, port: string): TransferData | null {
  if (!dataHex) return null;
  let parsed: unknown;
  const bytes = Buffer.from(dataHex, 'hex');
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    if (port === 'transfer') return transferFromV2(bytes);
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const d = parsed as Record<string, unknown>;
  const looksLikeTransfer = 'denom' in d && 'amount' in d && 'sender' in d && 'receiver' in d;
  if (!looksLikeTransfer) {
    if (port === 'transfer') throw new MalformedEventError('missing_attribute', 'ICS-20 packet data lacks denom, amount, sender or receiver');
    return null;
  }
  // Amounts are uint256 decimal strings; a few old relayers/chains wrote JSON numbers.
  const amount = typeof d.amount === 'number' && Number.isSafeInteger(d.amount) && d.amount >= 0 ? String(d.amount) : d.amount;
  if (typeof amount !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(amount)) {
    throw new MalformedEventError('absurd_value', `ICS-20 amount is not an unsigned integer: ${String(d.amount).slice(0, 80)}`);
  }
  for (const f of ['denom', 'sender', 'receiver'] as const) {
    if (typeof d[f] !== 'string' || d[f] === '') throw new MalformedEventError('missing_attribute', `ICS-20 ${f} is empty`);
  }
  const transfer: TransferData = {
    denom: (d.denom as string).slice(0, 512),
    amount,
    sender: (d.sender as string).slice(0, 256),
    receiver: (d.receiver as string).slice(0, 256),
  };
  if (typeof d.memo === 'string' && d.memo !== '') transfer.memo = d.memo.slice(0, 32768);
  return transfer;
}

const FEE_ACK_FIELDS = ['app_acknowledgement', 'forward_relayer_address', 'underlying_app_success'];

/**
 * Whether an acknowledgement reports success. The standard envelope is JSON {"result": ...} or {"error": ...}; on
 * a channel with ICS-29 fee middleware it is wrapped in an IncentivizedAcknowledgement {"app_acknowledgement",
 * "forward_relayer_address", "underlying_app_success"} whose success is the application's (Go's omitempty drops a
 * false one). Anything else (an application's own ack format) is undefined rather than guessed.
 */
export function acknowledgementSucceeded(ackHex: string | undefined): boolean | undefined {
  if (!ackHex) return undefined;
  try {
    const ack = JSON.parse(Buffer.from(ackHex, 'hex').toString('utf8')) as Record<string, unknown>;
    if (typeof ack !== 'object' || ack === null) return undefined;
    if ('result' in ack) return true;
    if ('error' in ack) return false;
    if (FEE_ACK_FIELDS.some((f) => f in ack)) return ack.underlying_app_success === true;
  } catch {
    return undefined;
  }
  return undefined;
}
