import { msgIdFor, packetKey, type EventMap, type PacketId } from '@unstuck/contracts';

/** What packet_flow knows about a packet when its event is aggregated (committed by ingest before that). */
export interface PacketFacts {
  dst_chain_id: string | null;
  dst_channel: string | null;
  send_time: string | null;
  recv_time: string | null;
  ack_time: string | null;
  timeout_time: string | null;
  recv_relayer: string | null;
  ack_relayer: string | null;
  timeout_relayer: string | null;
}

export interface NetworkDelta {
  table: 'network';
  chain_id: string;
  date: string;
  sent?: number;
  received?: number;
  acknowledged?: number;
  acks_successful?: number;
  timed_out?: number;
  relay_time_ms?: number;
}

export interface ChannelDelta {
  table: 'channel';
  chain_id: string;
  channel_id: string;
  hour: string;
  counterparty_chain_id: string | null;
  counterparty_channel_id: string | null;
  sent?: number;
  received?: number;
  acknowledged?: number;
  acks_successful?: number;
  timed_out?: number;
  clear_time_ms?: number;
}

export interface RelayerDelta {
  table: 'relayer';
  relayer: string;
  chain_id: string;
  date: string;
  relayed?: number;
  effected?: number;
  frontrun?: number;
  /** The relayer whose message took effect instead. */
  frontrun_by?: string;
  latency_ms?: number;
}

export type StatsDelta = NetworkDelta | ChannelDelta | RelayerDelta;

/** A relay message seen, for the Chainpulse-compatible counters. */
export interface RelayObservation {
  chain_id: string;
  packet: PacketId;
  dst_port: string;
  dst_channel: string;
  signer: string;
  effected: boolean;
  frontrunBy?: string;
}

/**
 * One fact, counted at most once: `fact` identifies it (an event's deterministic message id, or a derived fact
 * such as "the relay time of packet P"), `day` is the UTC day of the statistics it feeds (its ledger partition).
 */
export interface Contribution {
  fact: string;
  day: string;
  deltas: StatsDelta[];
  relay?: RelayObservation;
}

export type PacketEvent = {
  [K in 'packet.sent' | 'packet.received' | 'packet.acknowledged' | 'packet.timed_out']: { event: K; payload: EventMap[K] };
}['packet.sent' | 'packet.received' | 'packet.acknowledged' | 'packet.timed_out'];

/** A UTC RFC 3339 time ("…Z", what CometBFT and ingest write) names its day in its first ten characters. */
const UTC_TIME = /^\d{4}-\d{2}-\d{2}T[^+]*Z$/;
export const dayOf = (iso: string): string => (UTC_TIME.test(iso) ? iso.slice(0, 10) : new Date(iso).toISOString().slice(0, 10));
export const hourOf = (iso: string): string => {
  const d = new Date(iso);
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString();
};
const elapsedMs = (from: string, to: string): number => Math.max(0, Date.parse(to) - Date.parse(from));

function channelOf(e: PacketEvent['payload'], time: string): Omit<ChannelDelta, 'table'> {
  return {
    chain_id: e.packet.src_chain_id,
    channel_id: e.packet.src_channel,
    hour: hourOf(time),
    counterparty_chain_id: e.dst_chain_id ?? null,
    counterparty_channel_id: e.dst_channel,
  };
}

/** The counts one event contributes: its own fact, identified by its message id. */
function eventContribution(d: PacketEvent, facts: PacketFacts | undefined): Contribution {
  const fact = msgIdFor(d.event, d.payload as never);
  const e = d.payload;
  const day = dayOf(e.block_time);
  if (d.event === 'packet.sent') {
    return {
      fact,
      day,
      deltas: [
        { table: 'network', chain_id: e.chain_id, date: day, sent: 1 },
        { table: 'channel', ...channelOf(e, e.block_time), sent: 1 },
      ],
    };
  }
  const r = d.payload as EventMap['packet.received'];
  const winner =
    d.event === 'packet.received' ? facts?.recv_relayer : d.event === 'packet.acknowledged' ? facts?.ack_relayer : facts?.timeout_relayer;
  const relay: RelayObservation = {
    chain_id: r.chain_id,
    packet: r.packet,
    dst_port: r.dst_port,
    dst_channel: r.dst_channel,
    signer: r.relayer,
    effected: r.effected,
    ...(r.effected ? {} : { frontrunBy: winner ?? 'unknown' }),
  };
  const relayer: RelayerDelta = r.effected
    ? { table: 'relayer', relayer: r.relayer, chain_id: r.chain_id, date: day, relayed: 1, effected: 1 }
    : { table: 'relayer', relayer: r.relayer, chain_id: r.chain_id, date: day, relayed: 1, frontrun: 1, frontrun_by: relay.frontrunBy! };
  if (!r.effected) return { fact, day, deltas: [relayer], relay };
  const deltas: StatsDelta[] = [relayer];
  if (d.event === 'packet.received') {
    deltas.push({ table: 'network', chain_id: r.chain_id, date: day, received: 1 });
    deltas.push({ table: 'channel', ...channelOf(r, r.block_time), received: 1 });
  } else if (d.event === 'packet.acknowledged') {
    // An acknowledgement that is not an error acknowledgement is a success.
    const ok = (d.payload as EventMap['packet.acknowledged']).ack_success !== false ? 1 : 0;
    deltas.push({ table: 'network', chain_id: r.chain_id, date: day, acknowledged: 1, acks_successful: ok });
    deltas.push({ table: 'channel', ...channelOf(r, r.block_time), acknowledged: 1, acks_successful: ok });
  } else {
    deltas.push({ table: 'network', chain_id: r.chain_id, date: day, timed_out: 1 });
    deltas.push({ table: 'channel', ...channelOf(r, r.block_time), timed_out: 1 });
  }
  return { fact, day, deltas, relay };
}

/**
 * The durations of a packet's lifecycle, each a fact of its own. Any event of the packet derives them from
 * packet_flow; the ledger keeps each once. Because an event is aggregated only after ingest committed it, the last
 * event of a packet to be aggregated sees every endpoint, whatever order chains were ingested in.
 */
function timingContributions(e: PacketEvent['payload'], facts: PacketFacts): Contribution[] {
  const key = packetKey(e.packet);
  const out: Contribution[] = [];
  if (facts.send_time && facts.recv_time) {
    const day = dayOf(facts.recv_time);
    const ms = elapsedMs(facts.send_time, facts.recv_time);
    const deltas: StatsDelta[] = [];
    if (facts.dst_chain_id) {
      deltas.push({ table: 'network', chain_id: facts.dst_chain_id, date: day, relay_time_ms: ms });
      if (facts.recv_relayer) deltas.push({ table: 'relayer', relayer: facts.recv_relayer, chain_id: facts.dst_chain_id, date: day, latency_ms: ms });
    }
    if (deltas.length > 0) out.push({ fact: `relay_time:${key}`, day, deltas });
  }
  if (facts.recv_time && facts.ack_time && facts.ack_relayer) {
    const day = dayOf(facts.ack_time);
    out.push({
      fact: `ack_latency:${key}`,
      day,
      deltas: [
        { table: 'relayer', relayer: facts.ack_relayer, chain_id: e.packet.src_chain_id, date: day, latency_ms: elapsedMs(facts.recv_time, facts.ack_time) },
      ],
    });
  }
  const finished = facts.ack_time ?? facts.timeout_time;
  if (facts.send_time && finished) {
    out.push({
      fact: `clear_time:${key}`,
      day: dayOf(finished),
      deltas: [
        {
          table: 'channel',
          chain_id: e.packet.src_chain_id,
          channel_id: e.packet.src_channel,
          hour: hourOf(finished),
          counterparty_chain_id: facts.dst_chain_id ?? e.dst_chain_id ?? null,
          counterparty_channel_id: facts.dst_channel ?? e.dst_channel,
          clear_time_ms: elapsedMs(facts.send_time, finished),
        },
      ],
    });
  }
  return out;
}

/** Everything a batch of packet events may contribute, before the ledger drops what was already counted. */
export function contributionsOf(events: readonly PacketEvent[], factsOf: (p: PacketId) => PacketFacts | undefined): Contribution[] {
  const out: Contribution[] = [];
  const timed = new Set<string>();
  for (const d of events) {
    const facts = factsOf(d.payload.packet);
    out.push(eventContribution(d, facts));
    const key = packetKey(d.payload.packet);
    if (facts && !timed.has(key)) {
      timed.add(key);
      out.push(...timingContributions(d.payload, facts));
    }
  }
  return out;
}

/** The lifecycle counts a network and a channel row both keep. */
export interface LifecycleCounts {
  sent: number;
  received: number;
  acknowledged: number;
  acks_successful: number;
  timed_out: number;
}
export interface NetworkRowDelta extends LifecycleCounts {
  chain_id: string;
  date: string;
  relay_times_ms: number[];
}
export interface ChannelRowDelta extends LifecycleCounts {
  chain_id: string;
  channel_id: string;
  hour: string;
  counterparty_chain_id: string | null;
  counterparty_channel_id: string | null;
  clear_time_count: number;
  clear_time_sum_ms: number;
}
export interface RelayerRowDelta {
  relayer: string;
  chain_id: string;
  date: string;
  relayed: number;
  effected: number;
  frontrun: number;
  frontrun_by: Record<string, number>;
  latency_count: number;
  latency_sum_ms: number;
}
export interface RowDeltas {
  network: NetworkRowDelta[];
  channel: ChannelRowDelta[];
  relayer: RelayerRowDelta[];
}

function addCounts(row: LifecycleCounts, d: Partial<LifecycleCounts>): void {
  row.sent += d.sent ?? 0;
  row.received += d.received ?? 0;
  row.acknowledged += d.acknowledged ?? 0;
  row.acks_successful += d.acks_successful ?? 0;
  row.timed_out += d.timed_out ?? 0;
}

function rowFor<T>(rows: Map<string, T>, key: string, create: () => T): T {
  let row = rows.get(key);
  if (!row) {
    row = create();
    rows.set(key, row);
  }
  return row;
}

/** Sums the deltas of the facts that were new into one delta per statistics row. */
export function sumDeltas(contributions: readonly Contribution[]): RowDeltas {
  const network = new Map<string, NetworkRowDelta>();
  const channel = new Map<string, ChannelRowDelta>();
  const relayer = new Map<string, RelayerRowDelta>();
  const counts: LifecycleCounts = { sent: 0, received: 0, acknowledged: 0, acks_successful: 0, timed_out: 0 };
  for (const c of contributions) {
    for (const d of c.deltas) {
      if (d.table === 'network') {
        const row = rowFor(network, `${d.chain_id}|${d.date}`, () => ({ chain_id: d.chain_id, date: d.date, ...counts, relay_times_ms: [] }));
        addCounts(row, d);
        if (d.relay_time_ms !== undefined) row.relay_times_ms.push(d.relay_time_ms);
      } else if (d.table === 'channel') {
        const row = rowFor(channel, `${d.chain_id}|${d.channel_id}|${d.hour}`, () => ({
          chain_id: d.chain_id,
          channel_id: d.channel_id,
          hour: d.hour,
          counterparty_chain_id: d.counterparty_chain_id,
          counterparty_channel_id: d.counterparty_channel_id,
          ...counts,
          clear_time_count: 0,
          clear_time_sum_ms: 0,
        }));
        row.counterparty_chain_id ??= d.counterparty_chain_id;
        row.counterparty_channel_id ??= d.counterparty_channel_id;
        addCounts(row, d);
        if (d.clear_time_ms !== undefined) {
          row.clear_time_count += 1;
          row.clear_time_sum_ms += d.clear_time_ms;
        }
      } else {
        const row = rowFor(relayer, `${d.relayer}|${d.chain_id}|${d.date}`, (): RelayerRowDelta => ({
          relayer: d.relayer,
          chain_id: d.chain_id,
          date: d.date,
          relayed: 0,
          effected: 0,
          frontrun: 0,
          frontrun_by: {},
          latency_count: 0,
          latency_sum_ms: 0,
        }));
        row.relayed += d.relayed ?? 0;
        row.effected += d.effected ?? 0;
        row.frontrun += d.frontrun ?? 0;
        if (d.frontrun_by) row.frontrun_by[d.frontrun_by] = (row.frontrun_by[d.frontrun_by] ?? 0) + 1;
        if (d.latency_ms !== undefined) {
          row.latency_count += 1;
          row.latency_sum_ms += d.latency_ms;
        }
      }
    }
  }
  return { network: [...network.values()], channel: [...channel.values()], relayer: [...relayer.values()] };
}
