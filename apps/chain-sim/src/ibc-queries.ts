import { Any } from 'cosmjs-types/google/protobuf/any';
import { QueryChannelClientStateRequest, QueryChannelClientStateResponse } from 'cosmjs-types/ibc/core/channel/v1/query';
import { ClientState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';
import type { AbciAnswer } from './accounts';

/** One end of a channel as ibc-go stores it: its light client tracks the counterparty chain. */
export interface ChannelState {
  counterpartyChainId: string;
  counterpartyRevision: number;
  clientId: string;
  connectionId: string;
}

export const CHANNEL_CLIENT_STATE_PATH = '/ibc.core.channel.v1.Query/ChannelClientState';

/**
 * ibc-go's gRPC queries over ABCI that chain-sim answers from its own state, with the real protobuf encodings:
 * ChannelClientState (the channel's connection's client: a 07-tendermint ClientState naming the counterparty chain
 * id). A channel the chain does not have is NotFound, which the SDK's baseapp answers as ErrKeyNotFound (code 38).
 */
export function queryIbc(channels: ReadonlyMap<string, ChannelState>, path: string, data: Uint8Array): AbciAnswer | undefined {
  if (path !== CHANNEL_CLIENT_STATE_PATH) return undefined;
  let request: QueryChannelClientStateRequest;
  try {
    request = QueryChannelClientStateRequest.decode(data);
  } catch (e) {
    return { code: 2, log: `rpc error: code = InvalidArgument desc = ${(e as Error).message}`, value: new Uint8Array() };
  }
  const state = channels.get(`${request.portId}/${request.channelId}`);
  if (!state) {
    return { code: 38, log: `rpc error: code = NotFound desc = port-id: ${request.portId}, channel-id: ${request.channelId}: channel not found`, value: new Uint8Array() };
  }
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
