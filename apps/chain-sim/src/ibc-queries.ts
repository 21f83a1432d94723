import { Any } from 'cosmjs-types/google/protobuf/any';
import { QueryClientStatusRequest, QueryClientStatusResponse } from 'cosmjs-types/ibc/core/client/v1/query';
import { Channel, Order, State } from 'cosmjs-types/ibc/core/channel/v1/channel';
import {
  QueryChannelClientStateRequest,
  QueryChannelClientStateResponse,
  QueryChannelRequest,
  QueryChannelResponse,
  QueryNextSequenceReceiveRequest,
  QueryNextSequenceReceiveResponse,
  QueryPacketCommitmentsRequest,
  QueryPacketCommitmentsResponse,
  QueryUnreceivedAcksRequest,
  QueryUnreceivedAcksResponse,
  QueryUnreceivedPacketsRequest,
  QueryUnreceivedPacketsResponse,
} from 'cosmjs-types/ibc/core/channel/v1/query';
import { ClientState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';
import type { AbciAnswer } from './accounts';

/** A light client's status as ibc-go's ClientStatus query names it (exported.Status). */
export type ClientStatus = 'Active' | 'Frozen' | 'Expired' | 'Unknown' | 'Unauthorized';
export const CLIENT_STATUSES: readonly ClientStatus[] = ['Active', 'Frozen', 'Expired', 'Unknown', 'Unauthorized'];
export type ChannelStateName = 'OPEN' | 'CLOSED' | 'INIT' | 'TRYOPEN' | 'FLUSHING' | 'FLUSHCOMPLETE';
export const CHANNEL_STATES: readonly ChannelStateName[] = ['OPEN', 'CLOSED', 'INIT', 'TRYOPEN', 'FLUSHING', 'FLUSHCOMPLETE'];

/** One end of a channel as ibc-go stores it: its state and ordering, its counterparty, its light client (tracking the counterparty chain). */
export interface ChannelState {
  counterpartyChainId: string;
  counterpartyRevision: number;
  counterpartyPort: string;
  counterpartyChannelId: string;
  clientId: string;
  connectionId: string;
  state: ChannelStateName;
  ordering: 'ORDERED' | 'UNORDERED';
  version: string;
  clientStatus: ClientStatus;
}

/** What the queries read beyond the channel ends: packet state, as ibc-go's store keeps it. */
export interface IbcStateSource {
  readonly channels: ReadonlyMap<string, ChannelState>;
  nextSequenceRecv(port: string, channel: string): bigint;
  /** Packets this chain sent on the channel whose commitment is still stored (not acknowledged, not timed out). */
  packetCommitments(port: string, channel: string): Array<{ sequence: bigint; commitment: Uint8Array }>;
  /** Whether this chain holds a receipt for a packet received on the channel. */
  hasReceipt(port: string, channel: string, sequence: bigint): boolean;
  /** Whether this chain still holds the commitment of a packet it sent on the channel. */
  hasCommitment(port: string, channel: string, sequence: bigint): boolean;
}

export const CHANNEL_CLIENT_STATE_PATH = '/ibc.core.channel.v1.Query/ChannelClientState';
export const CHANNEL_PATH = '/ibc.core.channel.v1.Query/Channel';
export const NEXT_SEQUENCE_RECEIVE_PATH = '/ibc.core.channel.v1.Query/NextSequenceReceive';
export const CLIENT_STATUS_PATH = '/ibc.core.client.v1.Query/ClientStatus';
export const PACKET_COMMITMENTS_PATH = '/ibc.core.channel.v1.Query/PacketCommitments';
export const UNRECEIVED_PACKETS_PATH = '/ibc.core.channel.v1.Query/UnreceivedPackets';
export const UNRECEIVED_ACKS_PATH = '/ibc.core.channel.v1.Query/UnreceivedAcks';

/** The Cosmos SDK's query.Paginate default (types/query/pagination.go: DefaultLimit). */
const DEFAULT_PAGE_LIMIT = 100n;

/**
 * query.Paginate over ibc-go's commitment prefix store (`commitments/ports/{port}/channels/{channel}/sequences`):
 * its keys are `/<sequence>` in decimal, so they come in byte order — `/1`, `/10`, `/2` — not numeric order. A
 * page starts at `key` (inclusive) or skips `offset`, holds `limit` (100 by default), and `next_key` is the key
 * of the first item left (empty at the end). `count_total` gives the total on a first page asked by offset.
 */
function paginate<T>(items: Array<{ key: string; item: T }>, page: { key: Uint8Array; offset: bigint; limit: bigint; countTotal: boolean } | undefined) {
  const sorted = items.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const limit = Number(page?.limit || DEFAULT_PAGE_LIMIT);
  const key = page?.key?.length ? Buffer.from(page.key).toString() : undefined;
  const start = key !== undefined ? sorted.findIndex((e) => Buffer.compare(Buffer.from(e.key), Buffer.from(key)) >= 0) : Number(page?.offset ?? 0n);
  const from = start < 0 ? sorted.length : start;
  const chosen = sorted.slice(from, from + limit);
  const next = sorted[from + limit];
  return {
    items: chosen.map((e) => e.item),
    pagination: { nextKey: next ? Buffer.from(next.key) : new Uint8Array(), total: key === undefined && page?.countTotal ? BigInt(sorted.length) : 0n },
  };
}

const STATE_CODES: Record<ChannelStateName, State> = {
  INIT: State.STATE_INIT,
  TRYOPEN: State.STATE_TRYOPEN,
  OPEN: State.STATE_OPEN,
  CLOSED: State.STATE_CLOSED,
  FLUSHING: 5 as State,
  FLUSHCOMPLETE: 6 as State,
};

/** gRPC NotFound through baseapp's ABCI query: ErrKeyNotFound (code 38), with ibc-go's wrapped message. */
const notFound = (desc: string): AbciAnswer => ({ code: 38, log: `rpc error: code = NotFound desc = ${desc}`, value: new Uint8Array() });
const invalid = (e: unknown): AbciAnswer => ({ code: 2, log: `rpc error: code = InvalidArgument desc = ${(e as Error).message}`, value: new Uint8Array() });

function decode<T>(data: Uint8Array, decoder: { decode(input: Uint8Array): T }): T | AbciAnswer {
  try {
    return decoder.decode(data);
  } catch (e) {
    return invalid(e);
  }
}
const isAnswer = (v: unknown): v is AbciAnswer => typeof v === 'object' && v !== null && 'code' in v && 'log' in v;

/**
 * ibc-go's gRPC queries over ABCI that chain-sim answers from its own state, with the real protobuf encodings
 * (modules/core/04-channel/keeper/grpc_query.go, 02-client/keeper/grpc_query.go):
 * - ChannelClientState: the channel's connection's client, a 07-tendermint ClientState naming the counterparty chain id;
 * - Channel: state, ordering, counterparty, connection hops, version;
 * - NextSequenceReceive: the next sequence an ORDERED channel takes; 0 on an UNORDERED one (ibc-go does not use it there);
 * - ClientStatus: Active / Frozen / Expired / Unknown / Unauthorized, as a string.
 * A channel the chain does not have is NotFound, which the SDK's baseapp answers as ErrKeyNotFound (code 38).
 */
export function queryIbc(source: IbcStateSource, path: string, data: Uint8Array): AbciAnswer | undefined {
  switch (path) {
    case CHANNEL_CLIENT_STATE_PATH: {
      const request = decode(data, QueryChannelClientStateRequest);
      if (isAnswer(request)) return request;
      const state = source.channels.get(`${request.portId}/${request.channelId}`);
      if (!state) return notFound(`port-id: ${request.portId}, channel-id: ${request.channelId}: channel not found`);
      const clientState = ClientState.fromPartial({
        chainId: state.counterpartyChainId,
        trustLevel: { numerator: 1n, denominator: 3n },
        trustingPeriod: { seconds: 1_209_600n, nanos: 0 },
        unbondingPeriod: { seconds: 1_814_400n, nanos: 0 },
        maxClockDrift: { seconds: 40n, nanos: 0 },
        latestHeight: { revisionNumber: BigInt(state.counterpartyRevision), revisionHeight: 1n },
        upgradePath: ['upgrade', 'upgradedIBCState'],
      });
      const value = QueryChannelClientStateResponse.encode(
        QueryChannelClientStateResponse.fromPartial({
          identifiedClientState: {
            clientId: state.clientId,
            clientState: Any.fromPartial({ typeUrl: '/ibc.lightclients.tendermint.v1.ClientState', value: ClientState.encode(clientState).finish() }),
          },
          proofHeight: { revisionNumber: 0n, revisionHeight: 0n },
        }),
      ).finish();
      return { code: 0, log: '', value };
    }
    case CHANNEL_PATH: {
      const request = decode(data, QueryChannelRequest);
      if (isAnswer(request)) return request;
      const state = source.channels.get(`${request.portId}/${request.channelId}`);
      if (!state) return notFound(`port-id: ${request.portId}, channel-id ${request.channelId}: channel not found`);
      const channel = Channel.fromPartial({
        state: STATE_CODES[state.state],
        ordering: state.ordering === 'ORDERED' ? Order.ORDER_ORDERED : Order.ORDER_UNORDERED,
        counterparty: { portId: state.counterpartyPort, channelId: state.counterpartyChannelId },
        connectionHops: [state.connectionId],
        version: state.version,
      });
      return { code: 0, log: '', value: QueryChannelResponse.encode(QueryChannelResponse.fromPartial({ channel, proofHeight: { revisionNumber: 0n, revisionHeight: 0n } })).finish() };
    }
    case NEXT_SEQUENCE_RECEIVE_PATH: {
      const request = decode(data, QueryNextSequenceReceiveRequest);
      if (isAnswer(request)) return request;
      const state = source.channels.get(`${request.portId}/${request.channelId}`);
      if (!state) return notFound(`port-id: ${request.portId}, channel-id ${request.channelId}: channel not found`);
      const next = state.ordering === 'UNORDERED' ? 0n : source.nextSequenceRecv(request.portId, request.channelId);
      return { code: 0, log: '', value: QueryNextSequenceReceiveResponse.encode(QueryNextSequenceReceiveResponse.fromPartial({ nextSequenceReceive: next, proofHeight: { revisionNumber: 0n, revisionHeight: 0n } })).finish() };
    }
    case CLIENT_STATUS_PATH: {
      const request = decode(data, QueryClientStatusRequest);
      if (isAnswer(request)) return request;
      const state = [...source.channels.values()].find((c) => c.clientId === request.clientId);
      // ibc-go answers Unknown for a client it does not have (GetClientStatus finds no client state).
      return { code: 0, log: '', value: QueryClientStatusResponse.encode({ status: state?.clientStatus ?? 'Unknown' }).finish() };
    }
    case PACKET_COMMITMENTS_PATH: {
      const request = decode(data, QueryPacketCommitmentsRequest);
      if (isAnswer(request)) return request;
      if (!source.channels.has(`${request.portId}/${request.channelId}`)) {
        return notFound(`port ID (${request.portId}) channel ID (${request.channelId}): channel not found`);
      }
      const { items, pagination } = paginate(
        source.packetCommitments(request.portId, request.channelId).map((c) => ({ key: `/${c.sequence}`, item: c })),
        request.pagination,
      );
      const commitments = items.map((c) => ({ portId: request.portId, channelId: request.channelId, sequence: c.sequence, data: c.commitment }));
      return { code: 0, log: '', value: QueryPacketCommitmentsResponse.encode(QueryPacketCommitmentsResponse.fromPartial({ commitments, pagination, height: { revisionNumber: 0n, revisionHeight: 0n } })).finish() };
    }
    case UNRECEIVED_PACKETS_PATH: {
      // ibc-go: for each sequence asked, those this (destination) chain has no receipt for, in the order asked; a
      // sequence 0 is refused. On an ORDERED channel, those at or above its next sequence to receive.
      const request = decode(data, QueryUnreceivedPacketsRequest);
      if (isAnswer(request)) return request;
      const state = source.channels.get(`${request.portId}/${request.channelId}`);
      if (!state) return notFound(`port ID (${request.portId}) channel ID (${request.channelId}): channel not found`);
      if (request.packetCommitmentSequences.some((q) => q === 0n)) return { code: 2, log: 'rpc error: code = InvalidArgument desc = packet sequence cannot be 0', value: new Uint8Array() };
      const next = state.ordering === 'ORDERED' ? source.nextSequenceRecv(request.portId, request.channelId) : 0n;
      const sequences = request.packetCommitmentSequences.filter((q) => (state.ordering === 'ORDERED' ? q >= next : !source.hasReceipt(request.portId, request.channelId, q)));
      return { code: 0, log: '', value: QueryUnreceivedPacketsResponse.encode(QueryUnreceivedPacketsResponse.fromPartial({ sequences, height: { revisionNumber: 0n, revisionHeight: 0n } })).finish() };
    }
    case UNRECEIVED_ACKS_PATH: {
      // ibc-go: of the sequences whose acknowledgement the counterparty wrote, those whose commitment this (source)
      // chain still holds: the acknowledgement has not been relayed back.
      const request = decode(data, QueryUnreceivedAcksRequest);
      if (isAnswer(request)) return request;
      if (!source.channels.has(`${request.portId}/${request.channelId}`)) {
        return notFound(`port ID (${request.portId}) channel ID (${request.channelId}): channel not found`);
      }
      const sequences = request.packetAckSequences.filter((q) => source.hasCommitment(request.portId, request.channelId, q));
      return { code: 0, log: '', value: QueryUnreceivedAcksResponse.encode(QueryUnreceivedAcksResponse.fromPartial({ sequences, height: { revisionNumber: 0n, revisionHeight: 0n } })).finish() };
    }
    default:
      return undefined;
  }
}
