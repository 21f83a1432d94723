import { validateEvent, type EventName, type PacketId } from '@unstuck/contracts';
import type { OutgoingEvent } from '@unstuck/messaging';
import { decodeEvents, type AbciEvent, type RawEvent } from './abci-events';
import { MalformedEventError, UnsupportedPacketError } from './errors';
import { acknowledgementSucceeded, decodeTransferData } from './ics20';
import { parsePacketAttributes, type PacketAttributes } from './packet-attributes';
import { decodeTx, txHash, type DecodedTx, type RelayKind, type RelayMessage } from './tx';

/** One block as the RPC gives it: /block's header time and raw txs, /block_results' per-tx results. */
export interface BlockInput {
  chainId: string;
  height: string;
  /** RFC 3339 block time from the header. */
  time: string;
  /** base64 raw transactions, in block order. */
  txs: readonly string[];
  /** block_results.txs_results, same order as `txs`. */
  txResults: ReadonlyArray<{ code: number; events?: RawEvent[] | null }>;
  /**
   * Events outside any transaction (finalize_block_events in 0.38, begin/end_block_events before): a chain that
   * sends packets itself (interchain security's VSC packets, ICA or cron-driven sends) emits send_packet there.
   */
  blockEvents?: readonly RawEvent[] | null;
  /** CometBFT 0.34 encodes attribute keys and values in base64. */
  base64Attributes: boolean;
}

/**
 * The chain at the other end of one of `chainId`'s channels. A recv_packet names the channel on the sending chain
 * but not that chain's id, and a packet's identity starts with its source chain id.
 */
export type CounterpartyResolver = (chainId: string, port: string, channel: string) => string | undefined;

export interface ParseProblem {
  chainId: string;
  height: string;
  txHash: string | undefined;
  eventType: string | undefined;
  reason: MalformedEventError['reason'] | 'contract_violation';
  detail: string;
}

/** Traffic ingest does not track yet, counted by reason (never dead-lettered as malformed). */
export interface UnsupportedTraffic {
  reason: UnsupportedPacketError['reason'];
  eventType: string;
  detail: string;
}

export interface ParsedBlock {
  events: OutgoingEvent[];
  problems: ParseProblem[];
  unsupported: UnsupportedTraffic[];
}

/**
 * IBC v2 (ibc-go v10 "Eureka") packet events use the same event types with client ids instead of ports and
 * channels (packet_source_client, packet_dest_client) and the packet as encoded_packet_hex.
 */
function isIbcV2(event: AbciEvent): boolean {
  return !event.attributes.has('packet_src_port') && (event.attributes.has('packet_source_client') || event.attributes.has('encoded_packet_hex'));
}

const RELAY_EVENT: Record<string, RelayKind> = {
  recv_packet: 'recv',
  acknowledge_packet: 'ack',
  timeout_packet: 'timeout',
  timeout_on_close_packet: 'timeout',
};
const MAX_HEX = 131_072;
/** The only events the parser reads; a transaction's other events (coin_spent, message, ...) are not decoded. */
const PACKET_EVENTS: ReadonlySet<string> = new Set([...Object.keys(RELAY_EVENT), 'send_packet', 'write_acknowledgement']);

const relayKey = (kind: RelayKind, srcPort: string, srcChannel: string, sequence: string) =>
  `${kind}:${srcPort}/${srcChannel}/${sequence}`;

/** Turns one block into contract events; malformed parts become problems and the rest of the block still counts. */
export function parseBlock(block: BlockInput, counterparty: CounterpartyResolver): ParsedBlock {
  const out: ParsedBlock = { events: [], problems: [], unsupported: [] };
  block.txResults.forEach((result, i) => {
    // A failed transaction changed nothing on chain: its messages neither sent nor relayed anything.
    if (result.code !== 0) return;
    const rawTx = block.txs[i];
    let tx: DecodedTx | undefined;
    let hash: string | undefined;
    if (rawTx !== undefined) {
      const raw = Buffer.from(rawTx, 'base64');
      hash = txHash(raw);
      try {
        tx = decodeTx(raw, hash);
      } catch (e) {
        out.problems.push(problem(block, hash, undefined, 'bad_tx', `transaction does not decode: ${(e as Error).message}`));
      }
    }
    if (tx && hash) emitPayments(block, tx, hash, out);
    const events = decodeEvents(result.events, block.base64Attributes, PACKET_EVENTS);
    if (!hash || !events.some((e) => e.type in RELAY_EVENT || e.type === 'send_packet' || e.type === 'write_acknowledgement')) {
      if (tx) emitFrontrun(block, counterparty, tx, new Set(), out);
      return;
    }
    new TxParser(block, counterparty, hash, tx, events, out).run();
  });
  if (block.blockEvents?.length) parseBlockEvents(block, counterparty, out);
  return out;
}

/** Packets the chain sent at the block level: stored like any other send, with the height and no transaction. */
function parseBlockEvents(block: BlockInput, counterparty: CounterpartyResolver, out: ParsedBlock): void {
  for (const event of decodeEvents(block.blockEvents, block.base64Attributes, PACKET_EVENTS)) {
    if (isIbcV2(event)) {
      out.unsupported.push(ibcV2(event));
      continue;
    }
    try {
      if (event.type === 'send_packet') {
        emit(block, out, null, 'send_packet', 'packet.sent', sendPayload(block, null, 0, parsePacketAttributes(event), counterparty, out));
      } else if (event.type === 'write_acknowledgement') {
        emit(block, out, null, 'write_acknowledgement', 'packet.ack_written', ackWrittenPayload(block, null, 0, parsePacketAttributes(event), counterparty));
      }
    } catch (e) {
      if (!(e instanceof MalformedEventError)) throw e;
      out.problems.push(problem(block, undefined, event.type, e.reason, `block-level event: ${e.message}`));
    }
  }
}

/**
 * A packet.ack_written payload from a write_acknowledgement with no recv_packet beside it: the destination (this
 * chain) wrote the acknowledgement of a packet it received earlier. `hash` is null when written at the block level.
 */
function ackWrittenPayload(block: BlockInput, hash: string | null, msgIndex: number, a: PacketAttributes, counterparty: CounterpartyResolver): Record<string, unknown> {
  const src = counterparty(block.chainId, a.dstPort, a.dstChannel);
  if (!src) throw new MalformedEventError('unknown_counterparty', `no known chain behind ${a.dstPort}/${a.dstChannel} on ${block.chainId}`);
  const payload = packetFields(block, hash, msgIndex, packetId(src, a), a, block.chainId);
  if (a.ackHex && a.ackHex.length <= MAX_HEX) payload.ack_hex = a.ackHex;
  const succeeded = acknowledgementSucceeded(a.ackHex);
  if (succeeded !== undefined) payload.ack_success = succeeded;
  return payload;
}

function ibcV2(event: AbciEvent): UnsupportedTraffic {
  const src = event.attributes.get('packet_source_client') ?? '?';
  const dst = event.attributes.get('packet_dest_client') ?? '?';
  return { reason: 'ibc_v2', eventType: event.type, detail: `IBC v2 ${event.type} ${src} → ${dst} sequence ${event.attributes.get('packet_sequence') ?? '?'}` };
}

/**
 * A packet.sent payload from send_packet's attributes; `hash` is null for a packet the chain sent itself. A
 * transfer whose data is not tracked yet (an ICS-20 v2 packet of several tokens) is stored as a packet without
 * transfer details and counted as unsupported.
 */
function sendPayload(block: BlockInput, hash: string | null, msgIndex: number, a: PacketAttributes, counterparty: CounterpartyResolver, out: ParsedBlock): Record<string, unknown> {
  const payload = packetFields(block, hash, msgIndex, packetId(block.chainId, a), a, counterparty(block.chainId, a.srcPort, a.srcChannel));
  try {
    payload.transfer = decodeTransferData(a.dataHex, a.srcPort);
  } catch (e) {
    if (!(e instanceof UnsupportedPacketError)) throw e;
    out.unsupported.push({ reason: e.reason, eventType: 'send_packet', detail: e.message });
    payload.transfer = null;
  }
  if (a.dataHex && a.dataHex.length <= MAX_HEX) payload.data_hex = a.dataHex;
  return payload;
}

class TxParser {
  private readonly relaysByKey = new Map<string, RelayMessage>();
  readonly effected = new Set<RelayMessage>();

  constructor(
    private readonly block: BlockInput,
    private readonly counterparty: CounterpartyResolver,
    private readonly hash: string,
    private readonly tx: DecodedTx | undefined,
    private readonly events: AbciEvent[],
    private readonly out: ParsedBlock,
  ) {
    for (const r of tx?.relays ?? []) {
      this.relaysByKey.set(relayKey(r.kind, r.packet.sourcePort, r.packet.sourceChannel, r.packet.sequence.toString()), r);
    }
  }

  run(): void {
    for (const event of this.events) {
      if (isIbcV2(event)) {
        this.out.unsupported.push(ibcV2(event));
        continue;
      }
      try {
        if (event.type === 'send_packet') this.onSend(event);
        else if (event.type in RELAY_EVENT) this.onRelay(event, RELAY_EVENT[event.type]!);
        else if (event.type === 'write_acknowledgement') this.onAckWritten(event);
      } catch (e) {
        if (!(e instanceof MalformedEventError)) throw e;
        this.out.problems.push(problem(this.block, this.hash, event.type, e.reason, e.message));
      }
    }
    if (this.tx) emitFrontrun(this.block, this.counterparty, this.tx, this.effected, this.out, this.hash);
  }

  private onSend(event: AbciEvent): void {
    const a = parsePacketAttributes(event);
    const transferMsg = this.tx?.transfers.find((t) => a.msgIndex === undefined || t.msgIndex === a.msgIndex);
    const payload = sendPayload(this.block, this.hash, a.msgIndex ?? transferMsg?.msgIndex ?? 0, a, this.counterparty, this.out);
    emit(this.block, this.out, this.hash, 'send_packet', 'packet.sent', payload);
  }

  private onRelay(event: AbciEvent, kind: RelayKind): void {
    const a = parsePacketAttributes(event);
    const relay = this.relaysByKey.get(relayKey(kind, a.srcPort, a.srcChannel, a.sequence));
    if (relay) this.effected.add(relay);
    const relayer = relay?.signer || 'unknown';
    const msgIndex = a.msgIndex ?? relay?.msgIndex ?? 0;
    if (kind === 'recv') {
      // Received here: this chain is the destination; the source is the chain at the other end of our channel.
      const src = this.counterparty(this.block.chainId, a.dstPort, a.dstChannel);
      if (!src) throw new MalformedEventError('unknown_counterparty', `no known chain behind ${a.dstPort}/${a.dstChannel} on ${this.block.chainId}`);
      // The acknowledgement the destination wrote in the same transaction, if it wrote one.
      const written = this.sibling('write_acknowledgement', a);
      const ack = written?.ackHex;
      const payload = packetFields(this.block, this.hash, msgIndex, packetId(src, a), a, this.block.chainId);
      payload.relayer = relayer;
      payload.effected = true;
      if (ack && ack.length <= MAX_HEX) payload.ack_hex = ack;
      const succeeded = acknowledgementSucceeded(ack);
      if (succeeded !== undefined) payload.ack_success = succeeded;
      // No write_acknowledgement beside the receipt: the application acknowledges later (async ack).
      if (!written) payload.ack_pending = true;
      emit(this.block, this.out, this.hash, event.type, 'packet.received', payload);
      return;
    }
    const payload = packetFields(this.block, this.hash, msgIndex, packetId(this.block.chainId, a), a, this.counterparty(this.block.chainId, a.srcPort, a.srcChannel));
    payload.relayer = relayer;
    payload.effected = true;
    if (kind === 'ack') {
      const succeeded = acknowledgementSucceeded(relay?.acknowledgement ? Buffer.from(relay.acknowledgement).toString('hex') : undefined);
      if (succeeded !== undefined) payload.ack_success = succeeded;
      emit(this.block, this.out, this.hash, event.type, 'packet.acknowledged', payload);
    } else {
      emit(this.block, this.out, this.hash, event.type, 'packet.timed_out', payload);
    }
  }

  /**
   * A write_acknowledgement with no recv_packet of the same packet in this transaction: an acknowledgement written
   * after the receipt (packet-forward middleware acknowledging a forwarded packet once the next hop did).
   */
  private onAckWritten(event: AbciEvent): void {
    const w = parsePacketAttributes(event);
    if (this.sibling('recv_packet', w)) return;
    emit(this.block, this.out, this.hash, event.type, 'packet.ack_written', ackWrittenPayload(this.block, this.hash, w.msgIndex ?? 0, w, this.counterparty));
  }

  /** The event of `type` in this transaction for the same packet (source port, channel, sequence) as `p`, parsed. */
  private sibling(type: 'recv_packet' | 'write_acknowledgement', p: PacketAttributes): PacketAttributes | undefined {
    for (const e of this.events) {
      if (e.type !== type || isIbcV2(e)) continue;
      const s = parsePacketAttributes(e);
      if (s.sequence === p.sequence && s.srcChannel === p.srcChannel && s.srcPort === p.srcPort) return s;
    }
    return undefined;
  }
}

/**
 * Relay messages of a successful transaction that produced no packet event: the packet had already been relayed
 * by someone else (ibc-go turns a redundant relay into a no-op), so this relayer was frontrun.
 */
function emitFrontrun(
  block: BlockInput,
  counterparty: CounterpartyResolver,
  tx: DecodedTx,
  effected: ReadonlySet<RelayMessage>,
  out: ParsedBlock,
  hash = tx.hash,
): void {
  for (const r of tx.relays) {
    if (effected.has(r)) continue;
    const p = r.packet;
    const a: PacketAttributes = {
      sequence: p.sequence.toString(),
      srcPort: p.sourcePort,
      srcChannel: p.sourceChannel,
      dstPort: p.destinationPort,
      dstChannel: p.destinationChannel,
      timeoutHeight: {
        revision_number: (p.timeoutHeight?.revisionNumber ?? 0n).toString(),
        revision_height: (p.timeoutHeight?.revisionHeight ?? 0n).toString(),
      },
      timeoutTimestampNs: p.timeoutTimestamp.toString(),
      dataHex: undefined,
      ackHex: undefined,
      connectionId: undefined,
      ordering: undefined,
      msgIndex: r.msgIndex,
    };
    try {
      let payload: Record<string, unknown>;
      if (r.kind === 'recv') {
        const src = counterparty(block.chainId, a.dstPort, a.dstChannel);
        if (!src) throw new MalformedEventError('unknown_counterparty', `no known chain behind ${a.dstPort}/${a.dstChannel} on ${block.chainId}`);
        payload = packetFields(block, hash, r.msgIndex, packetId(src, a), a, block.chainId);
      } else {
        payload = packetFields(block, hash, r.msgIndex, packetId(block.chainId, a), a, counterparty(block.chainId, a.srcPort, a.srcChannel));
      }
      payload.relayer = r.signer || 'unknown';
      payload.effected = false;
      if (r.kind === 'recv') emit(block, out, hash, 'MsgRecvPacket', 'packet.received', payload);
      else emit(block, out, hash, r.kind === 'ack' ? 'MsgAcknowledgement' : 'MsgTimeout', r.kind === 'ack' ? 'packet.acknowledged' : 'packet.timed_out', payload);
    } catch (e) {
      if (!(e instanceof MalformedEventError)) throw e;
      out.problems.push(problem(block, hash, r.kind, e.reason, e.message));
    }
  }
}

/** The memo prefix of a clearing payment (`CLR-<token>`). */
export const PAYMENT_MEMO_PREFIX = 'CLR-';

/** Bank sends of a successful transaction whose memo names a clearing token: payments for the clearing service to verify. */
function emitPayments(block: BlockInput, tx: DecodedTx, hash: string, out: ParsedBlock): void {
  if (!tx.memo.startsWith(PAYMENT_MEMO_PREFIX)) return;
  for (const send of tx.bankSends) {
    const payload = placeAt({}, block, hash, send.msgIndex);
    payload.from = send.from;
    payload.to = send.to;
    payload.amount = send.amount;
    payload.memo = tx.memo.slice(0, 512);
    emit(block, out, hash, 'MsgSend', 'clearing.payment_observed', payload);
  }
}

function packetId(srcChainId: string, a: PacketAttributes): PacketId {
  return { src_chain_id: srcChainId, src_port: a.srcPort, src_channel: a.srcChannel, sequence: a.sequence };
}

const CONNECTION = /^connection-[0-9]{1,19}$/;

/**
 * The fields every packet event has: the packet, its route and timeout, and where it was seen. Built property by
 * property in one order, not from spread fragments: this runs for every packet event, and the object is then
 * checked, serialized and folded.
 */
function packetFields(block: BlockInput, hash: string | null, msgIndex: number, packet: PacketId, a: PacketAttributes, dstChainId: string | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = { packet };
  if (dstChainId) o.dst_chain_id = dstChainId;
  o.dst_port = a.dstPort;
  o.dst_channel = a.dstChannel;
  if (a.connectionId && CONNECTION.test(a.connectionId)) o.connection_id = a.connectionId;
  if (a.ordering) o.channel_ordering = a.ordering;
  o.timeout_height = a.timeoutHeight;
  o.timeout_timestamp_ns = a.timeoutTimestampNs;
  return placeAt(o, block, hash, msgIndex);
}

/** Adds where an event was seen (chain, height, block time, tx, message) to `o`, in place. */
function placeAt(o: Record<string, unknown>, block: BlockInput, hash: string | null, msgIndex: number): Record<string, unknown> {
  o.chain_id = block.chainId;
  o.height = block.height;
  o.block_time = block.time;
  o.tx_hash = hash;
  o.msg_index = msgIndex;
  return o;
}

/** Validates against the event's contract before it can be published; a violation is a problem, not a crash. */
function emit(block: BlockInput, out: ParsedBlock, hash: string | null, source: string, event: EventName, payload: unknown): void {
  const checked = validateEvent(event, payload);
  if (!checked.ok) {
    out.problems.push(problem(block, hash ?? undefined, source, 'contract_violation', checked.errors.join('; ')));
    return;
  }
  out.events.push({ event, payload: checked.value } as OutgoingEvent);
}

function problem(
  block: BlockInput,
  hash: string | undefined,
  eventType: string | undefined,
  reason: ParseProblem['reason'],
  detail: string,
): ParseProblem {
  return { chainId: block.chainId, height: block.height, txHash: hash, eventType, reason, detail };
}
