import { acknowledgementSucceeded, decodeTransferData, decodeTransferDataV2, encodeTransferDataV2 } from './ics20';
import { MalformedEventError, UnsupportedPacketError } from './errors';

const hex = (b: Uint8Array | string) => Buffer.from(b).toString('hex');

describe('ICS-20 packet data', () => {
  it('reads ics20-1 JSON', () => {
    expect(decodeTransferData(hex('{"amount":"5","denom":"uatom","receiver":"osmo1r","sender":"cosmos1s"}'), 'transfer')).toEqual({
      amount: '5',
      denom: 'uatom',
      receiver: 'osmo1r',
      sender: 'cosmos1s',
    });
  });

  it('reads ics20-2 protobuf (ibc-go v9) with one token, its denom as the trace path', () => {
    const bytes = encodeTransferDataV2({
      tokens: [{ base: 'uosmo', trace: [{ port: 'transfer', channel: 'channel-141' }], amount: '1000000' }],
      sender: 'cosmos1sender',
      receiver: 'osmo1receiver',
      memo: '{"wasm":{}}',
    });
    expect(decodeTransferDataV2(bytes)).toEqual({
      tokens: [{ base: 'uosmo', trace: [{ port: 'transfer', channel: 'channel-141' }], amount: '1000000' }],
      sender: 'cosmos1sender',
      receiver: 'osmo1receiver',
      memo: '{"wasm":{}}',
      forwarding: false,
    });
    expect(decodeTransferData(hex(bytes), 'transfer')).toEqual({
      denom: 'transfer/channel-141/uosmo',
      amount: '1000000',
      sender: 'cosmos1sender',
      receiver: 'osmo1receiver',
      memo: '{"wasm":{}}',
    });
  });

  it('counts a multi-token v2 transfer as unsupported, not malformed; bytes that are neither are malformed', () => {
    const two = encodeTransferDataV2({
      tokens: [
        { base: 'uatom', trace: [], amount: '1' },
        { base: 'uosmo', trace: [], amount: '2' },
      ],
      sender: 's',
      receiver: 'r',
    });
    expect(() => decodeTransferData(hex(two), 'transfer')).toThrow(UnsupportedPacketError);
    expect(() => decodeTransferData(hex('not json, not protobuf \u00ff'), 'transfer')).toThrow(MalformedEventError);
    expect(() => decodeTransferData(hex('not json, not protobuf \u00ff'), 'transfer')).toThrow(/neither JSON \(ics20-1\) nor FungibleTokenPacketDataV2/);
    // Another application's bytes are just not a transfer.
    expect(decodeTransferData(hex(two), 'icahost')).toBeNull();
  });
});

describe('acknowledgementSucceeded', () => {
  const ack = (o: unknown) => hex(JSON.stringify(o));
  it('reads the standard envelope', () => {
    expect(acknowledgementSucceeded(ack({ result: 'AQ==' }))).toBe(true);
    expect(acknowledgementSucceeded(ack({ error: 'ABCI code: 5' }))).toBe(false);
    expect(acknowledgementSucceeded(ack({ something: 1 }))).toBeUndefined();
    expect(acknowledgementSucceeded('zz')).toBeUndefined();
  });

  it('reads an ICS-29 fee-wrapped acknowledgement by the application’s success (false is omitted by Go’s omitempty)', () => {
    const app = Buffer.from('{"result":"AQ=="}').toString('base64');
    expect(acknowledgementSucceeded(ack({ app_acknowledgement: app, forward_relayer_address: 'osmo1relayer', underlying_app_success: true }))).toBe(true);
    expect(acknowledgementSucceeded(ack({ app_acknowledgement: Buffer.from('{"error":"x"}').toString('base64'), forward_relayer_address: 'osmo1relayer' }))).toBe(false);
  });
});
