import { orderToJSON, stateToJSON } from 'cosmjs-types/ibc/core/channel/v1/channel';
import {
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
import { QueryClientStatusRequest, QueryClientStatusResponse } from 'cosmjs-types/ibc/core/client/v1/query';
import { CHANNEL_CLIENT_STATE_PATH, channelClientStateQuery } from './channel-resolver';
import type { CometRpcClient } from './comet-rpc-client';

export const IBC_QUERY_PATHS = {
  channel: '/ibc.core.channel.v1.Query/Channel',
  channelClientState: CHANNEL_CLIENT_STATE_PATH,
  nextSequenceReceive: '/ibc.core.channel.v1.Query/NextSequenceReceive',
  clientStatus: '/ibc.core.client.v1.Query/ClientStatus',
  packetCommitments: '/ibc.core.channel.v1.Query/PacketCommitments',
  unreceivedPackets: '/ibc.core.channel.v1.Query/UnreceivedPackets',
  unreceivedAcks: '/ibc.core.channel.v1.Query/UnreceivedAcks',
} as const;

/** A channel end as ibc-go's Channel query answers it (state and ordering by their proto names, e.g. STATE_OPEN). */
export interface ChannelEndState {
  state: string;
  ordering: string;
  counterparty: { port: string; channel: string };
  connectionHops: string[];
  version: string;
}

/** The chain answered, and said the thing asked for does not exist (gRPC NotFound through ABCI). */
export class IbcNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IbcNotFoundError';
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Ascending order of packet sequences. */
export const compareBigInt = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * ibc-go's gRPC queries over a chain's Comet RPC (`abci_query` with the request's protobuf bytes, the answer's
 * protobuf back): a channel end, its light client's id and status, an ORDERED channel's next sequence to receive.
 * A transport failure throws as the RPC client throws it; an answer that says "not found" throws IbcNotFoundError;
 * any other refusal throws an Error with the chain's log.
 */
export class IbcChainState {
  constructor(readonly rpc: CometRpcClient) {}

  private async ask<T>(path: string, request: Uint8Array, decode: (value: Uint8Array) => T, what: string): Promise<T> {
    const answer = await this.rpc.abciQuery(path, hex(request));
    if (answer.code !== 0) {
      if (answer.code === 38 || /NotFound|not found/.test(answer.log)) throw new IbcNotFoundError(`${this.rpc.chainId} has no ${what}: ${answer.log || `code ${answer.code}`}`);
      throw new Error(`${this.rpc.chainId} refused the query for ${what} (code ${answer.code}): ${answer.log || 'no log'}`);
    }
    return decode(answer.value);
  }

  async channel(port: string, channel: string): Promise<ChannelEndState> {
    const r = await this.ask(IBC_QUERY_PATHS.channel, QueryChannelRequest.encode({ portId: port, channelId: channel }).finish(), (v) => QueryChannelResponse.decode(v), `channel ${port}/${channel}`);
    if (!r.channel) throw new IbcNotFoundError(`${this.rpc.chainId} has no channel ${port}/${channel}`);
    return {
      state: stateToJSON(r.channel.state),
      ordering: orderToJSON(r.channel.ordering),
      counterparty: { port: r.channel.counterparty?.portId ?? '', channel: r.channel.counterparty?.channelId ?? '' },
      connectionHops: r.channel.connectionHops,
      version: r.channel.version,
    };
  }

  /** The id of the light client under the channel's connection (it tracks the counterparty chain). */
  async channelClientId(port: string, channel: string): Promise<string> {
    const r = await this.ask(
      IBC_QUERY_PATHS.channelClientState,
      Buffer.from(channelClientStateQuery(port, channel), 'hex'),
      (v) => QueryChannelClientStateResponse.decode(v),
      `client for channel ${port}/${channel}`,
    );
    const id = r.identifiedClientState?.clientId;
    if (!id) throw new IbcNotFoundError(`${this.rpc.chainId} has no client for channel ${port}/${channel}`);
    return id;
  }

  /** Active, Expired, Frozen, Unknown or Unauthorized (ibc-go's exported.Status). */
  async clientStatus(clientId: string): Promise<string> {
    return (await this.ask(IBC_QUERY_PATHS.clientStatus, QueryClientStatusRequest.encode({ clientId }).finish(), (v) => QueryClientStatusResponse.decode(v), `client ${clientId}`)).status;
  }

  /**
   * The sequences of packets this chain sent on the channel whose commitment it still holds (not acknowledged, not
   * timed out), every page of them (`pageSize` a page; at most `maxPages` pages, then `truncated`). ibc-go pages
   * its store in key order (`/1`, `/10`, `/2`), so the answer is sorted here.
   */
  async packetCommitments(port: string, channel: string, pageSize = 1_000, maxPages = 100): Promise<{ sequences: bigint[]; truncated: boolean; pages: number }> {
    const sequences: bigint[] = [];
    let key: Uint8Array = new Uint8Array();
    for (let page = 1; page <= maxPages; page++) {
      const r = await this.ask(
        IBC_QUERY_PATHS.packetCommitments,
        QueryPacketCommitmentsRequest.encode(QueryPacketCommitmentsRequest.fromPartial({ portId: port, channelId: channel, pagination: { key, limit: BigInt(pageSize) } })).finish(),
        (v) => QueryPacketCommitmentsResponse.decode(v),
        `channel ${port}/${channel}`,
      );
      for (const c of r.commitments) sequences.push(c.sequence);
      key = r.pagination?.nextKey ?? new Uint8Array();
      if (key.length === 0) return { sequences: sequences.sort(compareBigInt), truncated: false, pages: page };
    }
    return { sequences: sequences.sort(compareBigInt), truncated: true, pages: maxPages };
  }

  /** Of `sequences` (sent to this chain on the channel), those it has not received. */
  async unreceivedPackets(port: string, channel: string, sequences: readonly bigint[]): Promise<bigint[]> {
    if (sequences.length === 0) return [];
    return (
      await this.ask(
        IBC_QUERY_PATHS.unreceivedPackets,
        QueryUnreceivedPacketsRequest.encode({ portId: port, channelId: channel, packetCommitmentSequences: [...sequences] }).finish(),
        (v) => QueryUnreceivedPacketsResponse.decode(v),
        `channel ${port}/${channel}`,
      )
    ).sequences;
  }

  /** Of `sequences` (sent by this chain, acknowledged by the counterparty), those whose acknowledgement it has not received. */
  async unreceivedAcks(port: string, channel: string, sequences: readonly bigint[]): Promise<bigint[]> {
    if (sequences.length === 0) return [];
    return (
      await this.ask(
        IBC_QUERY_PATHS.unreceivedAcks,
        QueryUnreceivedAcksRequest.encode({ portId: port, channelId: channel, packetAckSequences: [...sequences] }).finish(),
        (v) => QueryUnreceivedAcksResponse.decode(v),
        `channel ${port}/${channel}`,
      )
    ).sequences;
  }

  /** An ORDERED channel end's next sequence to receive (ibc-go answers 0 for an UNORDERED one). */
  async nextSequenceReceive(port: string, channel: string): Promise<bigint> {
    return (
      await this.ask(
        IBC_QUERY_PATHS.nextSequenceReceive,
        QueryNextSequenceReceiveRequest.encode({ portId: port, channelId: channel }).finish(),
        (v) => QueryNextSequenceReceiveResponse.decode(v),
        `channel ${port}/${channel}`,
      )
    ).nextSequenceReceive;
  }
}
