import { packetSentFixture } from '@unstuck/testing';
import { contributionsOf, dayOf, sumDeltas, type PacketEvent, type PacketFacts } from './aggregation';

const sent = packetSentFixture('cosmoshub-4', 7, { block_time: '2026-11-20T10:15:00.000Z', dst_chain_id: 'osmosis-1' });
const hash = (n: number) => n.toString(16).toUpperCase().padStart(64, '0');
const relay = (event: 'packet.received' | 'packet.acknowledged', relayer: string, effected: boolean, time: string, n: number) =>
  ({
    event,
    payload: {
      packet: sent.packet,
      dst_chain_id: 'osmosis-1',
      dst_port: sent.dst_port,
      dst_channel: sent.dst_channel,
      timeout_height: sent.timeout_height,
      timeout_timestamp_ns: sent.timeout_timestamp_ns,
      chain_id: event === 'packet.received' ? 'osmosis-1' : 'cosmoshub-4',
      height: '500',
      block_time: time,
      tx_hash: hash(n),
      msg_index: 0,
      relayer,
      effected,
      ack_success: true,
    },
  }) as PacketEvent;

const facts: PacketFacts = {
  dst_chain_id: 'osmosis-1',
  dst_channel: sent.dst_channel,
  send_time: '2026-11-20T10:15:00.000Z',
  recv_time: '2026-11-20T10:15:30.000Z',
  ack_time: '2026-11-20T11:00:10.000Z',
  timeout_time: null,
  recv_relayer: 'osmo1winner',
  ack_relayer: 'cosmos1acker',
  timeout_relayer: null,
};

describe('contributions of packet events', () => {
  it('counts a send for its source chain day and source channel hour', () => {
    const [c] = contributionsOf([{ event: 'packet.sent', payload: sent }], () => undefined);
    expect(c!.day).toBe('2026-11-20');
    const rows = sumDeltas([c!]);
    expect(rows.network).toEqual([expect.objectContaining({ chain_id: 'cosmoshub-4', date: '2026-11-20', sent: 1 })]);
    expect(rows.channel).toEqual([
      expect.objectContaining({ chain_id: 'cosmoshub-4', channel_id: sent.packet.src_channel, hour: '2026-11-20T10:00:00.000Z', sent: 1 }),
    ]);
  });

  it('credits the effected relay and records the frontrun one against the winner', () => {
    const won = relay('packet.received', 'osmo1winner', true, '2026-11-20T10:15:30.000Z', 1);
    const lost = relay('packet.received', 'osmo1loser', false, '2026-11-20T10:15:36.000Z', 2);
    const rows = sumDeltas(contributionsOf([won, lost], () => facts));
    const winner = rows.relayer.find((r) => r.relayer === 'osmo1winner')!;
    const loser = rows.relayer.find((r) => r.relayer === 'osmo1loser')!;
    expect(winner).toMatchObject({ relayed: 1, effected: 1, frontrun: 0 });
    expect(loser).toMatchObject({ relayed: 1, effected: 0, frontrun: 1, frontrun_by: { osmo1winner: 1 } });
    // Only the effected recv counts as a packet received on the destination.
    expect(rows.network.find((r) => r.chain_id === 'osmosis-1')).toMatchObject({ received: 1 });
  });

  it('derives the lifecycle durations once per packet, from what packet_flow knows', () => {
    const events = [relay('packet.received', 'osmo1winner', true, facts.recv_time!, 1), relay('packet.acknowledged', 'cosmos1acker', true, facts.ack_time!, 3)];
    const contributions = contributionsOf(events, () => facts);
    const derived = contributions.filter((c) => !c.fact.startsWith('packet.')).map((c) => c.fact.split(':')[0]);
    expect(derived.sort()).toEqual(['ack_latency', 'clear_time', 'relay_time']);
    const rows = sumDeltas(contributions);
    expect(rows.network.find((r) => r.chain_id === 'osmosis-1')!.relay_times_ms).toEqual([30_000]);
    // The clear time lands in the hour the packet finished in.
    expect(rows.channel.find((r) => r.hour === '2026-11-20T11:00:00.000Z')).toMatchObject({ clear_time_count: 1, clear_time_sum_ms: 2_710_000 });
    expect(rows.relayer.find((r) => r.relayer === 'cosmos1acker')).toMatchObject({ latency_count: 1, latency_sum_ms: 2_680_000 });
  });

  it('derives nothing from a packet whose other end is not known yet', () => {
    const lonely = { ...facts, send_time: null, ack_time: null };
    const contributions = contributionsOf([relay('packet.received', 'osmo1winner', true, facts.recv_time!, 1)], () => lonely);
    expect(contributions.map((c) => c.fact.split(':')[0])).toEqual(['packet.received.v1']);
  });

  it('counts an error acknowledgement as finished but not successful', () => {
    const ack = relay('packet.acknowledged', 'cosmos1acker', true, facts.ack_time!, 3);
    (ack.payload as { ack_success?: boolean }).ack_success = false;
    const rows = sumDeltas(contributionsOf([ack], () => undefined));
    expect(rows.network[0]).toMatchObject({ acknowledged: 1, acks_successful: 0 });
  });
});

describe('dayOf', () => {
  it('is the UTC day, whether the time is written in UTC (nanoseconds included) or with an offset', () => {
    expect(dayOf('2026-11-21T23:59:59.999999999Z')).toBe('2026-11-21');
    expect(dayOf('2026-11-21T00:00:00Z')).toBe('2026-11-21');
    expect(dayOf('2026-11-21T23:30:00+02:00')).toBe('2026-11-21');
    expect(dayOf('2026-11-21T23:30:00-02:00')).toBe('2026-11-22');
    expect(dayOf('2026-11-22T01:00:00.5+03:00')).toBe('2026-11-21');
  });
});
