import { packetKey, type PacketId } from '@unstuck/contracts';
import type { StuckKind } from './clearing-store';

/** A stuck packet offered for clearing, with what judging it needs. */
export interface ClearableCandidate {
  packet: PacketId;
  /** The kind the packet tables hold (the stuck detector's view, which may lag the chains). */
  kind: StuckKind;
  dstChainId: string;
  dstPort: string;
  dstChannel: string;
  timeoutHeight: { revisionNumber: bigint; revisionHeight: bigint };
  timeoutTimestampNs: bigint;
}

/** One channel end as its chain shows it now. */
export interface ChannelEndFacts {
  chainId: string;
  port: string;
  channel: string;
  /** ibc-go's proto names: STATE_OPEN, STATE_CLOSED, …; ORDER_ORDERED, ORDER_UNORDERED. */
  state: string;
  ordering: string;
  clientId: string;
  /** Active, Expired, Frozen, Unknown, Unauthorized. */
  clientStatus: string;
  /** An ORDERED end's next sequence to receive (read only where it matters). */
  nextSequenceRecv?: bigint;
}

/** A chain's latest block: its height in its revision, and its time. */
export interface ChainHead {
  height: bigint;
  timeNs: bigint;
}

export interface ClearabilityFacts {
  end(chainId: string, port: string, channel: string): ChannelEndFacts;
  head(chainId: string): ChainHead;
  /** On an ORDERED source channel: sequences below the given one still waiting for their acknowledgement. */
  awaitingAckBelow(packet: PacketId): readonly bigint[];
}

export interface Refusal {
  code: 'channel_not_open' | 'client_not_active' | 'ordered_channel_blocked' | 'packet_not_stuck';
  message: string;
}

/** The revision of a chain id in ibc-go's `{name}-{revision}` format (ParseChainID), 0 for any other id. */
export function revisionOf(chainId: string): bigint {
  const m = /^.*[^\n-]-([1-9][0-9]*)$/.exec(chainId);
  return m ? BigInt(m[1]!) : 0n;
}

/**
 * Whether a packet's timeout has passed on its destination, as ibc-go's Timeout.Elapsed judges it at the
 * destination's latest block: its height (in the chain id's revision) reached the timeout height, or its time the
 * timeout timestamp. A zero height or time is no timeout.
 */
export function timeoutPassed(c: Pick<ClearableCandidate, 'timeoutHeight' | 'timeoutTimestampNs' | 'dstChainId'>, head: ChainHead): boolean {
  const { revisionNumber, revisionHeight } = c.timeoutHeight;
  if (revisionNumber !== 0n || revisionHeight !== 0n) {
    const revision = revisionOf(c.dstChainId);
    if (revision > revisionNumber || (revision === revisionNumber && head.height >= revisionHeight)) return true;
  }
  return c.timeoutTimestampNs > 0n && head.timeNs >= c.timeoutTimestampNs;
}

const bare = (s: string) => s.replace(/^(STATE|ORDER)_/, '');

/**
 * Which relay each packet needs now and whether ibc-go would take it, from the chains' own state:
 * - a packet not received is a timeout once its timeout has passed on the destination, else a receipt (whatever
 *   the stuck detector last said);
 * - a receipt needs the destination's channel end OPEN, an acknowledgement the source's (ibc-go's RecvPacket and
 *   AcknowledgePacket refuse any other state); a timeout is taken on any state;
 * - the light clients on both ends must be Active: an expired or frozen client verifies no proof, and the
 *   packet's other leg (the acknowledgement or timeout that returns the funds) would need the other one;
 * - on an ORDERED channel receipts go in sequence order: the destination's next sequence first, the quote's
 *   sequences on that channel contiguous from it; acknowledgements likewise, after every lower one.
 * Returns the kind per packet (in order), or the first refusal, naming the packet and the reason.
 */
export function judgeClearable(candidates: readonly ClearableCandidate[], facts: ClearabilityFacts): { kinds: StuckKind[] } | { refusal: Refusal } {
  const kinds: StuckKind[] = [];
  for (const c of candidates) {
    const name = packetKey(c.packet);
    const src = facts.end(c.packet.src_chain_id, c.packet.src_port, c.packet.src_channel);
    const dst = facts.end(c.dstChainId, c.dstPort, c.dstChannel);
    const kind: StuckKind = c.kind === 'awaiting_ack' ? 'awaiting_ack' : timeoutPassed(c, facts.head(c.dstChainId)) ? 'timeout_pending' : 'awaiting_recv';
    const landing = kind === 'awaiting_recv' ? dst : src;
    if (kind !== 'timeout_pending' && landing.state !== 'STATE_OPEN') {
      const what = kind === 'awaiting_recv' ? `packet ${name} cannot be delivered` : `the acknowledgement of packet ${name} cannot be brought back`;
      return {
        refusal: {
          code: 'channel_not_open',
          message: `${what}: channel ${landing.port}/${landing.channel} on ${landing.chainId} is ${bare(landing.state)}, and ibc-go relays packets only on an OPEN channel${
            kind === 'awaiting_recv' ? ' (the funds return to the sender once the packet times out)' : ''
          }`,
        },
      };
    }
    for (const end of [landing, landing === dst ? src : dst]) {
      if (end.clientStatus !== 'Active') {
        const other = end === dst ? c.packet.src_chain_id : c.dstChainId;
        return {
          refusal: {
            code: 'client_not_active',
            message: `packet ${name} cannot be cleared: the light client ${end.clientId} on ${end.chainId} (tracking ${other}, under channel ${end.port}/${end.channel}) is ${end.clientStatus}, so no proof from ${other} can be verified there until the client is recovered (a governance proposal substitutes an expired or frozen client)`,
          },
        };
      }
    }
    if (kind === 'awaiting_recv' && dst.ordering === 'ORDER_ORDERED') {
      const next = dst.nextSequenceRecv ?? 1n;
      const seq = BigInt(c.packet.sequence);
      if (seq < next) {
        return { refusal: { code: 'packet_not_stuck', message: `${c.dstChainId} has already received packet ${name} (the next sequence it takes on ORDERED channel ${dst.port}/${dst.channel} is ${next})` } };
      }
      const quoted = new Set(candidates.filter((o) => sameChannel(o.packet, c.packet)).map((o) => BigInt(o.packet.sequence)));
      for (let s = next; s < seq; s++) {
        if (!quoted.has(s)) {
          return {
            refusal: {
              code: 'ordered_channel_blocked',
              message: `packet ${name} is on ORDERED channel ${dst.port}/${dst.channel}: ${c.dstChainId} takes sequence ${next} next, so sequence ${s} must be cleared first or in the same quote`,
            },
          };
        }
      }
    }
    if (kind === 'awaiting_ack' && src.ordering === 'ORDER_ORDERED') {
      const quoted = new Set(candidates.filter((o) => sameChannel(o.packet, c.packet)).map((o) => BigInt(o.packet.sequence)));
      const missing = facts.awaitingAckBelow(c.packet).find((s) => !quoted.has(s));
      if (missing !== undefined) {
        return {
          refusal: {
            code: 'ordered_channel_blocked',
            message: `packet ${name} is on ORDERED channel ${src.port}/${src.channel}: ${src.chainId} takes acknowledgements in order, so the acknowledgement of sequence ${missing} must be cleared first or in the same quote`,
          },
        };
      }
    }
    kinds.push(kind);
  }
  return { kinds };
}

const sameChannel = (a: PacketId, b: PacketId) => a.src_chain_id === b.src_chain_id && a.src_port === b.src_port && a.src_channel === b.src_channel;
