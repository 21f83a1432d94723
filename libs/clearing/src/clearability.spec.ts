import { judgeClearable, revisionOf, timeoutPassed, type ChannelEndFacts, type ClearableCandidate, type ClearabilityFacts } from './clearability';

const HEAD = { height: 1_000n, timeNs: 1_700_000_000_000_000_000n };

function candidate(sequence: number, over: Partial<ClearableCandidate> = {}): ClearableCandidate {
  return {
    packet: { src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: 'channel-141', sequence: String(sequence) },
    kind: 'awaiting_recv',
    dstChainId: 'osmosis-1',
    dstPort: 'transfer',
    dstChannel: 'channel-0',
    timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n },
    timeoutTimestampNs: HEAD.timeNs + 60_000_000_000n,
    ...over,
  };
}

function facts(ends: { src?: Partial<ChannelEndFacts>; dst?: Partial<ChannelEndFacts> } = {}, acksBelow: bigint[] = []): ClearabilityFacts {
  const base = { state: 'STATE_OPEN', ordering: 'ORDER_UNORDERED', clientStatus: 'Active' };
  const src: ChannelEndFacts = { chainId: 'cosmoshub-4', port: 'transfer', channel: 'channel-141', clientId: '07-tendermint-259', ...base, ...ends.src };
  const dst: ChannelEndFacts = { chainId: 'osmosis-1', port: 'transfer', channel: 'channel-0', clientId: '07-tendermint-1', ...base, ...ends.dst };
  return {
    end: (chain) => (chain === 'osmosis-1' ? dst : src),
    head: () => HEAD,
    awaitingAckBelow: () => acksBelow,
  };
}

describe('judgeClearable: only what the chains would take is quoted', () => {
  it('quotes open channels with active clients, keeping the kind', () => {
    expect(judgeClearable([candidate(1), candidate(2, { kind: 'awaiting_ack' })], facts())).toEqual({ kinds: ['awaiting_recv', 'awaiting_ack'] });
  });

  it('refuses a receipt on a destination end that is not OPEN, and an acknowledgement on a source end that is not', () => {
    const recv = judgeClearable([candidate(1)], facts({ dst: { state: 'STATE_CLOSED' } }));
    expect(recv).toEqual({ refusal: { code: 'channel_not_open', message: expect.stringMatching(/cannot be delivered: channel transfer\/channel-0 on osmosis-1 is CLOSED/) } });
    const ack = judgeClearable([candidate(1, { kind: 'awaiting_ack' })], facts({ src: { state: 'STATE_FLUSHING' } }));
    expect(ack).toEqual({ refusal: { code: 'channel_not_open', message: expect.stringMatching(/acknowledgement .* channel transfer\/channel-141 on cosmoshub-4 is FLUSHING/) } });
    // The source's state does not stop a receipt, nor the destination's an acknowledgement.
    expect(judgeClearable([candidate(1)], facts({ src: { state: 'STATE_CLOSED' } }))).toEqual({ kinds: ['awaiting_recv'] });
  });

  it('takes a timeout on any channel state (ibc-go does), but not through a client that is not Active', () => {
    const due = candidate(1, { timeoutTimestampNs: HEAD.timeNs - 1n });
    expect(judgeClearable([due], facts({ src: { state: 'STATE_CLOSED' }, dst: { state: 'STATE_CLOSED' } }))).toEqual({ kinds: ['timeout_pending'] });
    const frozen = judgeClearable([due], facts({ src: { clientStatus: 'Frozen' } }));
    expect(frozen).toEqual({ refusal: { code: 'client_not_active', message: expect.stringMatching(/07-tendermint-259 on cosmoshub-4 \(tracking osmosis-1.*\) is Frozen/) } });
  });

  it('refuses when either end’s client is Expired, naming the client and the chain it tracks', () => {
    const r = judgeClearable([candidate(1)], facts({ src: { clientStatus: 'Expired' } }));
    expect(r).toEqual({ refusal: { code: 'client_not_active', message: expect.stringMatching(/07-tendermint-259 on cosmoshub-4 \(tracking osmosis-1/) } });
  });

  it('decides receipt or timeout from the destination’s head, whatever the stored kind says', () => {
    // Stored as timeout_pending, but the destination has not reached the timeout: it can still be delivered.
    expect(judgeClearable([candidate(1, { kind: 'timeout_pending' })], facts())).toEqual({ kinds: ['awaiting_recv'] });
    // Stored as awaiting_recv, but the timeout height has passed: only a timeout can clear it now.
    const byHeight = candidate(1, { timeoutHeight: { revisionNumber: 1n, revisionHeight: 1_000n }, timeoutTimestampNs: 0n });
    expect(judgeClearable([byHeight], facts())).toEqual({ kinds: ['timeout_pending'] });
  });

  it('on an ORDERED channel, takes the destination’s next sequence and a contiguous run from it only', () => {
    const ordered = facts({ dst: { ordering: 'ORDER_ORDERED', nextSequenceRecv: 5n } });
    expect(judgeClearable([candidate(5), candidate(6)], ordered)).toEqual({ kinds: ['awaiting_recv', 'awaiting_recv'] });
    expect(judgeClearable([candidate(6)], ordered)).toEqual({
      refusal: { code: 'ordered_channel_blocked', message: expect.stringMatching(/takes sequence 5 next, so sequence 5 must be cleared first/) },
    });
    expect(judgeClearable([candidate(5), candidate(7)], ordered)).toEqual({ refusal: { code: 'ordered_channel_blocked', message: expect.stringMatching(/sequence 6 must be cleared first/) } });
    expect(judgeClearable([candidate(4)], ordered)).toEqual({ refusal: { code: 'packet_not_stuck', message: expect.stringMatching(/already received/) } });
  });

  it('on an ORDERED channel, takes an acknowledgement only after every lower one', () => {
    const ack = (s: number) => candidate(s, { kind: 'awaiting_ack' });
    const ordered = (below: bigint[]) => facts({ src: { ordering: 'ORDER_ORDERED' }, dst: { ordering: 'ORDER_ORDERED' } }, below);
    expect(judgeClearable([ack(8)], ordered([7n]))).toEqual({ refusal: { code: 'ordered_channel_blocked', message: expect.stringMatching(/acknowledgement of sequence 7 must be cleared first/) } });
    expect(judgeClearable([ack(7), ack(8)], ordered([7n]))).toEqual({ kinds: ['awaiting_ack', 'awaiting_ack'] });
  });
});

describe('timeouts as ibc-go judges them', () => {
  it('reads the revision from a chain id the way ParseChainID does', () => {
    expect(revisionOf('osmosis-1')).toBe(1n);
    expect(revisionOf('evmos_9001-2')).toBe(2n);
    expect(revisionOf('testing')).toBe(0n);
    expect(revisionOf('chain-01')).toBe(0n);
  });

  it('compares heights within the revision and past it, and times to the nanosecond given', () => {
    const at = (rn: bigint, rh: bigint) => ({ dstChainId: 'osmosis-1', timeoutHeight: { revisionNumber: rn, revisionHeight: rh }, timeoutTimestampNs: 0n });
    expect(timeoutPassed(at(1n, 1_000n), HEAD)).toBe(true);
    expect(timeoutPassed(at(1n, 1_001n), HEAD)).toBe(false);
    expect(timeoutPassed(at(0n, 5_000n), HEAD)).toBe(true);
    expect(timeoutPassed(at(2n, 1n), HEAD)).toBe(false);
    expect(timeoutPassed({ dstChainId: 'osmosis-1', timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n }, timeoutTimestampNs: 0n }, HEAD)).toBe(false);
    expect(timeoutPassed({ dstChainId: 'osmosis-1', timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n }, timeoutTimestampNs: HEAD.timeNs }, HEAD)).toBe(true);
  });
});
