import { Any } from 'cosmjs-types/google/protobuf/any';
import { QueryChannelClientStateRequest, QueryChannelClientStateResponse } from 'cosmjs-types/ibc/core/channel/v1/query';
import { ClientState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';
import { ChannelQueryError, channelClientStateQuery, counterpartyFromClientState } from './channel-resolver';

const answer = (typeUrl: string, value: Uint8Array, clientId = '07-tendermint-1119') => ({
  code: 0,
  log: '',
  value: QueryChannelClientStateResponse.encode(QueryChannelClientStateResponse.fromPartial({ identifiedClientState: { clientId, clientState: Any.fromPartial({ typeUrl, value }) } })).finish(),
});

describe('channel counterparties from chain state (ibc-go ChannelClientState over abci_query)', () => {
  it('encodes the request as ibc-go’s protobuf, hex', () => {
    const hex = channelClientStateQuery('transfer', 'channel-141');
    expect(QueryChannelClientStateRequest.decode(Buffer.from(hex, 'hex'))).toEqual({ portId: 'transfer', channelId: 'channel-141' });
  });

  it('reads the counterparty chain id from the 07-tendermint client state', () => {
    const tm = ClientState.encode(ClientState.fromPartial({ chainId: 'osmosis-1', latestHeight: { revisionNumber: 1n, revisionHeight: 5n } })).finish();
    expect(counterpartyFromClientState(answer('/ibc.lightclients.tendermint.v1.ClientState', tm), 'transfer', 'channel-141')).toBe('osmosis-1');
  });

  it('says why it cannot: a channel the chain does not have, a client that names no chain, a garbled chain id', () => {
    const notFound = { code: 38, log: 'rpc error: code = NotFound desc = port-id: transfer, channel-id: channel-9: channel not found', value: new Uint8Array() };
    expect(() => counterpartyFromClientState(notFound, 'transfer', 'channel-9')).toThrow(expect.objectContaining({ reason: 'not_found', message: expect.stringContaining('channel not found') }));
    const solo = answer('/ibc.lightclients.solomachine.v3.ClientState', new Uint8Array([8, 1]), '06-solomachine-2');
    expect(() => counterpartyFromClientState(solo, 'transfer', 'channel-9')).toThrow(ChannelQueryError);
    expect(() => counterpartyFromClientState(solo, 'transfer', 'channel-9')).toThrow(/06-solomachine-2 is a \/ibc.lightclients.solomachine.v3.ClientState/);
    const garbled = ClientState.encode(ClientState.fromPartial({ chainId: 'bad id with spaces' })).finish();
    expect(() => counterpartyFromClientState(answer('/ibc.lightclients.tendermint.v1.ClientState', garbled), 'transfer', 'channel-9')).toThrow(expect.objectContaining({ reason: 'not_tendermint' }));
  });
});
