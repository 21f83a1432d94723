import type { Static, TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ClearingOperationUpdatedV1, PaymentObservedV1 } from './events/clearing';
import type { PacketId } from './events/common';
import {
  PacketAckWrittenV1,
  PacketAcknowledgedV1,
  PacketNearTimeoutV1,
  PacketReceivedV1,
  PacketSentV1,
  PacketStuckV1,
  PacketTimedOutV1,
  PacketUnstuckV1,
} from './events/packet';
import { StatsUpdatedV1 } from './events/stats';
import './formats';
import { SUBJECT_ROOT, STREAMS, encodeSubjectToken, type StreamKey } from './subjects';

interface EventDefinition<S extends TObject> {
  /** `<domain>.<event>` */
  readonly name: string;
  readonly version: number;
  readonly stream: StreamKey;
  readonly schema: S;
  readonly summary: string;
  /** Names of the routing tokens after the version, in order (documented in AsyncAPI as channel parameters). */
  readonly tokens: readonly string[];
  readonly tokenValues: (payload: Static<S>) => readonly string[];
  /** Deterministic `Nats-Msg-Id`: the same fact published twice is stored once within the duplicate window. */
  readonly msgId: (payload: Static<S>) => string;
}

function define<S extends TObject>(def: EventDefinition<S>): EventDefinition<S> {
  return def;
}

/** A packet's identity as one string (`chain/port/channel/sequence`); message ids are built on it, so it never changes. */
export const packetKey = (p: PacketId): string => `${p.src_chain_id}/${p.src_port}/${p.src_channel}/${p.sequence}`;
const packetTokens = (p: { packet: PacketId }) => [p.packet.src_chain_id, p.packet.src_channel];
const PACKET_TOKENS = ['src_chain_id', 'src_channel'] as const;

/** Every event Unstuck publishes. Consumers and publishers refer to events by these keys, never by subject strings. */
export const EVENTS = {
  'packet.sent': define({
    name: 'packet.sent',
    version: 1,
    stream: 'PACKETS',
    schema: PacketSentV1,
    summary: 'A packet was sent (send_packet on the source chain).',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.sent.v1:${packetKey(e.packet)}`,
  }),
  'packet.received': define({
    name: 'packet.received',
    version: 1,
    stream: 'PACKETS',
    schema: PacketReceivedV1,
    summary: 'A relayer delivered a packet (recv_packet on the destination chain); effected=false when frontrun.',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.received.v1:${packetKey(e.packet)}:${e.tx_hash}:${e.msg_index}`,
  }),
  'packet.ack_written': define({
    name: 'packet.ack_written',
    version: 1,
    stream: 'PACKETS',
    schema: PacketAckWrittenV1,
    summary: 'The destination wrote a packet\'s acknowledgement after receiving it (an async ack: packet-forward middleware, a contract).',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.ack_written.v1:${packetKey(e.packet)}`,
  }),
  'packet.acknowledged': define({
    name: 'packet.acknowledged',
    version: 1,
    stream: 'PACKETS',
    schema: PacketAcknowledgedV1,
    summary: 'A relayer brought the acknowledgement back (acknowledge_packet on the source chain).',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.acknowledged.v1:${packetKey(e.packet)}:${e.tx_hash}:${e.msg_index}`,
  }),
  'packet.timed_out': define({
    name: 'packet.timed_out',
    version: 1,
    stream: 'PACKETS',
    schema: PacketTimedOutV1,
    summary: 'A relayer relayed the timeout (timeout_packet on the source chain); the sender is refunded on chain.',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.timed_out.v1:${packetKey(e.packet)}:${e.tx_hash}:${e.msg_index}`,
  }),
  'packet.stuck': define({
    name: 'packet.stuck',
    version: 1,
    stream: 'PACKETS',
    schema: PacketStuckV1,
    summary: 'A packet is stuck (emitted once per packet and kind).',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.stuck.v1:${packetKey(e.packet)}:${e.kind}`,
  }),
  'packet.unstuck': define({
    name: 'packet.unstuck',
    version: 1,
    stream: 'PACKETS',
    schema: PacketUnstuckV1,
    summary: 'A stuck packet was received, acknowledged or timed out.',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.unstuck.v1:${packetKey(e.packet)}:${e.kind}`,
  }),
  'packet.near_timeout': define({
    name: 'packet.near_timeout',
    version: 1,
    stream: 'PACKETS',
    schema: PacketNearTimeoutV1,
    summary: 'A packet still awaiting receipt will time out within the warning window (emitted once per packet).',
    tokens: PACKET_TOKENS,
    tokenValues: packetTokens,
    msgId: (e) => `packet.near_timeout.v1:${packetKey(e.packet)}`,
  }),
  'clearing.operation_updated': define({
    name: 'clearing.operation_updated',
    version: 1,
    stream: 'CLEARING',
    schema: ClearingOperationUpdatedV1,
    summary: 'A clearing operation changed state or progress.',
    tokens: ['wallet'],
    tokenValues: (e) => [e.wallet],
    msgId: (e) => `clearing.operation_updated.v1:${e.operation_id}:${e.version}`,
  }),
  'clearing.payment_observed': define({
    name: 'clearing.payment_observed',
    version: 1,
    stream: 'CLEARING',
    schema: PaymentObservedV1,
    summary: 'Ingest saw a bank send with a CLR- memo (MsgSend, a MsgMultiSend output, either inside authz MsgExec): a clearing payment to verify.',
    tokens: ['chain_id'],
    tokenValues: (e) => [e.chain_id],
    // One message may pay several addresses (MsgMultiSend's outputs): each recipient is its own event.
    msgId: (e) => `clearing.payment_observed.v1:${e.chain_id}:${e.tx_hash}:${e.msg_index}:${e.to}`,
  }),
  'stats.updated': define({
    name: 'stats.updated',
    version: 1,
    stream: 'STATS',
    schema: StatsUpdatedV1,
    summary: 'Statistics changed; throttled to about one message per second per scope and key.',
    tokens: ['scope'],
    tokenValues: (e) => [e.scope],
    msgId: (e) => `stats.updated.v1:${e.scope}:${e.key}:${e.updated_at}`,
  }),
} as const;

export type EventName = keyof typeof EVENTS;
/** Event name → payload type: publishing the wrong payload for an event is a compile error. */
export type EventMap = { [K in EventName]: Static<(typeof EVENTS)[K]['schema']> };
export const EVENT_NAMES = Object.keys(EVENTS) as EventName[];

/** The concrete subject one event is published on. */
export function subjectFor<K extends EventName>(event: K, payload: EventMap[K]): string {
  const def = EVENTS[event] as unknown as EventDefinition<TObject>;
  const tokens = def.tokenValues(payload).map(encodeSubjectToken);
  return [SUBJECT_ROOT, def.name, `v${def.version}`, ...tokens].join('.');
}

/** Filter subject matching every message of one event (optionally narrowed by leading routing tokens). */
export function subjectFilter(event: EventName, ...leadingTokens: string[]): string {
  const def = EVENTS[event];
  const fixed = leadingTokens.map(encodeSubjectToken);
  return [SUBJECT_ROOT, def.name, `v${def.version}`, ...fixed, '>'].join('.');
}

/** Maps a received subject back to its event, or undefined for subjects no event owns. */
export function eventForSubject(subject: string): EventName | undefined {
  const parts = subject.split('.');
  if (parts[0] !== SUBJECT_ROOT || parts.length < 4) return undefined;
  const name = `${parts[1]}.${parts[2]}`;
  const def = (EVENTS as unknown as Record<string, EventDefinition<TObject>>)[name];
  if (!def || parts[3] !== `v${def.version}` || parts.length !== 4 + def.tokens.length) return undefined;
  return name as EventName;
}

export function msgIdFor<K extends EventName>(event: K, payload: EventMap[K]): string {
  return (EVENTS[event] as unknown as EventDefinition<TObject>).msgId(payload);
}

export function streamFor(event: EventName): (typeof STREAMS)[StreamKey] {
  return STREAMS[EVENTS[event].stream];
}

const checks = new Map<EventName, TypeCheck<TObject>>();
function checkerFor(event: EventName): TypeCheck<TObject> {
  let check = checks.get(event);
  if (!check) {
    check = TypeCompiler.Compile(EVENTS[event].schema as TObject);
    checks.set(event, check);
  }
  return check;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Validates a payload against its event's JSON Schema; errors name the offending JSON pointer. */
export function validateEvent<K extends EventName>(event: K, value: unknown): ValidationResult<EventMap[K]> {
  const check = checkerFor(event);
  if (check.Check(value)) return { ok: true, value: value as EventMap[K] };
  const errors: string[] = [];
  for (const err of check.Errors(value)) {
    errors.push(`${err.path || '/'}: ${err.message}`);
    if (errors.length >= 10) break;
  }
  return { ok: false, errors };
}
