import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgMultiSend, MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { MsgTransfer } from 'cosmjs-types/ibc/applications/transfer/v1/tx';
import { MsgAcknowledgement, MsgRecvPacket, MsgTimeout } from 'cosmjs-types/ibc/core/channel/v1/tx';
import type { PacketAcknowledgedV1, PacketReceivedV1, PacketSentV1, PacketTimedOutV1 } from '@unstuck/contracts';
import type { RawEvent } from './abci-events';
import { detectBase64Attributes } from './abci-events';
import { parseBlock, type BlockInput } from './block';
import {
  dymensionAckHex,
  dymensionToOsmosisPacket,
  mainnetCounterparty,
  nobleSendPacketBase64,
  nobleWriteAckBase64,
  osmosisSendPacket,
} from './__fixtures__/mainnet';
import { decodeTx, txHash } from './tx';

const RELAYER_A = 'osmo1relayeraaaaaaaaaaaaaaaaaaaaaaaaaaaaa0';
const RELAYER_B = 'osmo1relayerbbbbbbbbbbbbbbbbbbbbbbbbbbbbb0';

/** A real protobuf transaction (TxRaw of a TxBody) holding the given messages, base64 as /block returns it. */
function tx(messages: Any[], memo = ''): string {
  const bodyBytes = TxBody.encode(TxBody.fromPartial({ messages, memo })).finish();
  return Buffer.from(TxRaw.encode(TxRaw.fromPartial({ bodyBytes, authInfoBytes: new Uint8Array(), signatures: [new Uint8Array(64)] })).finish()).toString('base64');
}
const any = (typeUrl: string, value: Uint8Array) => Any.fromPartial({ typeUrl, value });
const plain = (type: string, attrs: Record<string, string>): RawEvent => ({
  type,
  attributes: Object.entries(attrs).map(([key, value]) => ({ key, value, index: true })),
});
const b64 = (e: RawEvent): RawEvent => ({
  type: e.type,
  attributes: (e.attributes ?? []).map((a) => ({ key: Buffer.from(a.key).toString('base64'), value: Buffer.from(a.value ?? '').toString('base64') })),
});

function block(chainId: string, txs: Array<{ tx: string; events: RawEvent[]; code?: number }>, base64 = false): BlockInput {
  return {
    chainId,
    height: '16000123',
    time: '2024-11-01T12:00:00.123456789Z',
    txs: txs.map((t) => t.tx),
    txResults: txs.map((t) => ({ code: t.code ?? 0, events: t.events })),
    base64Attributes: base64,
  };
}

/** MsgRecvPacket for the dymension → osmosis packet, signed by `signer`. */
function recvMsg(signer: string) {
  const p = dymensionToOsmosisPacket;
  return any(
    MsgRecvPacket.typeUrl,
    MsgRecvPacket.encode(
      MsgRecvPacket.fromPartial({
        packet: {
          sequence: BigInt(p.packet_sequence!),
          sourcePort: p.packet_src_port,
          sourceChannel: p.packet_src_channel,
          destinationPort: p.packet_dst_port,
          destinationChannel: p.packet_dst_channel,
          data: Buffer.from(p.packet_data_hex!, 'hex'),
          timeoutHeight: { revisionNumber: 1n, revisionHeight: 23278545n },
          timeoutTimestamp: 0n,
        },
        signer,
      }),
    ).finish(),
  );
}
const updateClient = any('/ibc.core.client.v1.MsgUpdateClient', new Uint8Array([10, 3, 48, 55, 45]));

describe('parseBlock', () => {
  it('parses a send_packet in CometBFT 0.37/0.38 plain attributes with its ICS-20 data', () => {
    const raw = tx([
      any(MsgSend.typeUrl, MsgSend.encode(MsgSend.fromPartial({ fromAddress: 'osmo1a', toAddress: 'osmo1b', amount: [{ denom: 'uosmo', amount: '1' }] })).finish()),
      any(MsgTransfer.typeUrl, MsgTransfer.encode(MsgTransfer.fromPartial({ sender: 'osmo17yp3yva7exg0ru2yl2waewcgdsw9ac3f2m43ukgd7d39e044yr6qzwkyd3', sourceChannel: 'channel-259' })).finish()),
    ]);
    const parsed = parseBlock(block('osmosis-1', [{ tx: raw, events: [osmosisSendPacket] }]), mainnetCounterparty);
    expect(parsed.problems).toEqual([]);
    expect(parsed.events).toHaveLength(1);
    const sent = parsed.events[0]!.payload as PacketSentV1;
    expect(parsed.events[0]!.event).toBe('packet.sent');
    expect(sent).toMatchObject({
      packet: { src_chain_id: 'osmosis-1', src_port: 'transfer', src_channel: 'channel-259', sequence: '293662' },
      dst_chain_id: 'kaiyo-1',
      dst_port: 'transfer',
      dst_channel: 'channel-3',
      connection_id: 'connection-1559',
      channel_ordering: 'ORDER_UNORDERED',
      timeout_height: { revision_number: '0', revision_height: '0' },
      timeout_timestamp_ns: '1730462659929766700',
      chain_id: 'osmosis-1',
      height: '16000123',
      tx_hash: txHash(Buffer.from(raw, 'base64')),
      msg_index: 1,
      transfer: {
        denom: 'transfer/channel-259/ukuji',
        amount: '14966901',
        sender: 'osmo17yp3yva7exg0ru2yl2waewcgdsw9ac3f2m43ukgd7d39e044yr6qzwkyd3',
        receiver: 'kujira153z9a90f0977p2qde28m0csxuavquyatef9xtp',
      },
    });
  });

  it('reports bank sends with a CLR- memo as clearing payments, and ignores other memos and failed txs', () => {
    const send = (memo: string) =>
      tx([any(MsgSend.typeUrl, MsgSend.encode(MsgSend.fromPartial({ fromAddress: 'osmo1payer', toAddress: 'osmo1service', amount: [{ denom: 'uosmo', amount: '12345' }] })).finish())], memo);
    const paid = send('CLR-abc');
    const parsed = parseBlock(
      block('osmosis-1', [{ tx: paid, events: [] }, { tx: send('hello'), events: [] }, { tx: send('CLR-failed'), events: [], code: 5 }]),
      mainnetCounterparty,
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.events).toEqual([
      {
        event: 'clearing.payment_observed',
        payload: {
          chain_id: 'osmosis-1',
          height: '16000123',
          block_time: '2024-11-01T12:00:00.123456789Z',
          tx_hash: txHash(Buffer.from(paid, 'base64')),
          msg_index: 0,
          from: 'osmo1payer',
          to: 'osmo1service',
          amount: [{ denom: 'uosmo', amount: '12345' }],
          memo: 'CLR-abc',
        },
      },
    ]);
  });

  it('reports CLR- payments made by MsgMultiSend and inside authz MsgExec, the funds’ owner as the sender', () => {
    const coins = [{ denom: 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2', amount: '7' }];
    const multi = any(
      MsgMultiSend.typeUrl,
      MsgMultiSend.encode(MsgMultiSend.fromPartial({ inputs: [{ address: 'osmo1payer', coins }], outputs: [{ address: 'osmo1other', coins: [] }, { address: 'osmo1service', coins }] })).finish(),
    );
    const inner = any(MsgSend.typeUrl, MsgSend.encode(MsgSend.fromPartial({ fromAddress: 'osmo1granter', toAddress: 'osmo1service', amount: coins })).finish());
    const exec = any(MsgExec.typeUrl, MsgExec.encode(MsgExec.fromPartial({ grantee: 'osmo1grantee', msgs: [any(MsgExec.typeUrl, MsgExec.encode(MsgExec.fromPartial({ grantee: 'osmo1grantee', msgs: [inner] })).finish())] })).finish());
    const parsed = parseBlock(block('osmosis-1', [{ tx: tx([multi, exec], 'CLR-abc'), events: [] }]), mainnetCounterparty);
    expect(parsed.problems).toEqual([]);
    expect(parsed.events.map((e) => e.payload as { msg_index: number; from: string; to: string }).map((p) => [p.msg_index, p.from, p.to])).toEqual([
      [0, 'osmo1payer', 'osmo1other'],
      [0, 'osmo1payer', 'osmo1service'],
      [1, 'osmo1granter', 'osmo1service'],
    ]);
    const decoded = decodeTx(tx([multi, exec], 'CLR-abc'));
    expect(decoded.bankSends.map((b) => b.via)).toEqual(['MsgMultiSend', 'MsgMultiSend', 'MsgExec/MsgExec/MsgSend']);
  });

  it('parses a send_packet in CometBFT 0.34 base64 attributes, including a height timeout', () => {
    expect(detectBase64Attributes([nobleSendPacketBase64])).toBe(true);
    expect(detectBase64Attributes([osmosisSendPacket])).toBe(false);
    const parsed = parseBlock(block('noble-1', [{ tx: tx([]), events: [nobleSendPacketBase64] }], true), mainnetCounterparty);
    expect(parsed.problems).toEqual([]);
    expect(parsed.events[0]!.payload).toMatchObject({
      packet: { src_chain_id: 'noble-1', src_channel: 'channel-39', sequence: '15598' },
      dst_chain_id: 'pacific-1',
      dst_channel: 'channel-45',
      connection_id: 'connection-61',
      timeout_height: { revision_number: '14691018', revision_height: '14691118' },
      timeout_timestamp_ns: '0',
      transfer: { denom: 'uusdc', amount: '3473000000', receiver: 'sei1kwgnecysq5qxhg2h86cp7g05e6zsztrcg039h6', sender: 'noble1pk0c0x0lmv5mm80yrmrcm2z5y83f3vmuvvcj4x' },
    });
  });

  it('keys a received packet by its source chain, attributes it to the signer, and carries the written ack', () => {
    const events = [
      plain('recv_packet', dymensionToOsmosisPacket),
      plain('write_acknowledgement', { ...dymensionToOsmosisPacket, packet_ack_hex: dymensionAckHex }),
    ];
    const parsed = parseBlock(block('osmosis-1', [{ tx: tx([updateClient, recvMsg(RELAYER_A)]), events }]), mainnetCounterparty);
    expect(parsed.problems).toEqual([]);
    expect(parsed.events).toHaveLength(1);
    const recv = parsed.events[0]!.payload as PacketReceivedV1;
    expect(parsed.events[0]!.event).toBe('packet.received');
    expect(recv.packet).toEqual({ src_chain_id: 'dymension_1100-1', src_port: 'transfer', src_channel: 'channel-2', sequence: '399171' });
    expect(recv).toMatchObject({ chain_id: 'osmosis-1', dst_chain_id: 'osmosis-1', relayer: RELAYER_A, effected: true, msg_index: 1, ack_hex: dymensionAckHex, ack_success: true });
    expect(recv.timeout_height).toEqual({ revision_number: '1', revision_height: '23278545' });
  });

  it('marks the first relay of a packet effected and a later redundant relay uneffected (frontrun)', () => {
    const events = [plain('recv_packet', dymensionToOsmosisPacket), plain('write_acknowledgement', { ...dymensionToOsmosisPacket, packet_ack_hex: dymensionAckHex })];
    const parsed = parseBlock(
      block('osmosis-1', [
        { tx: tx([updateClient, recvMsg(RELAYER_A)]), events },
        // The same packet relayed again by B: ibc-go turns it into a no-op, so no recv_packet event.
        { tx: tx([updateClient, recvMsg(RELAYER_B)]), events: [plain('message', { action: '/ibc.core.channel.v1.MsgRecvPacket' })] },
      ]),
      mainnetCounterparty,
    );
    expect(parsed.problems).toEqual([]);
    const relays = parsed.events.map((e) => e.payload as PacketReceivedV1).map((p) => [p.relayer, p.effected]);
    expect(relays).toEqual([
      [RELAYER_A, true],
      [RELAYER_B, false],
    ]);
  });

  it('reads a 0.34 write_acknowledgement with a recv_packet and decodes the ack envelope', () => {
    const w = nobleWriteAckBase64;
    // recv_packet carries the same packet attributes as write_acknowledgement, without the ack.
    const recv: RawEvent = { type: 'recv_packet', attributes: (w.attributes ?? []).filter((a) => !Buffer.from(a.key, 'base64').toString().startsWith('packet_ack')) };
    const parsed = parseBlock(block('noble-1', [{ tx: tx([]), events: [recv, w] }], true), mainnetCounterparty);
    expect(parsed.problems).toEqual([]);
    expect(parsed.events[0]!.payload).toMatchObject({
      packet: { src_chain_id: 'neutron-1', src_channel: 'channel-30', sequence: '30288' },
      dst_channel: 'channel-18',
      connection_id: 'connection-34',
      timeout_timestamp_ns: '1730467768229000000',
      relayer: 'unknown',
      ack_success: true,
    });
  });

  it('parses acknowledge_packet and timeout_packet on the source chain, with ack success from the relayed ack', () => {
    const p = { ...dymensionToOsmosisPacket };
    delete p.packet_data_hex;
    const packet = {
      sequence: 399171n,
      sourcePort: 'transfer',
      sourceChannel: 'channel-2',
      destinationPort: 'transfer',
      destinationChannel: 'channel-19774',
      data: new Uint8Array(),
      timeoutHeight: { revisionNumber: 1n, revisionHeight: 23278545n },
      timeoutTimestamp: 0n,
    };
    const ackMsg = any(
      MsgAcknowledgement.typeUrl,
      MsgAcknowledgement.encode(MsgAcknowledgement.fromPartial({ packet, acknowledgement: Buffer.from('{"error":"ABCI code: 5: insufficient funds"}'), signer: 'dym1relayer' })).finish(),
    );
    const timeoutMsg = any(MsgTimeout.typeUrl, MsgTimeout.encode(MsgTimeout.fromPartial({ packet: { ...packet, sequence: 399172n }, signer: 'dym1relayer2' })).finish());
    const parsed = parseBlock(
      block('dymension_1100-1', [
        { tx: tx([ackMsg]), events: [plain('acknowledge_packet', p)] },
        { tx: tx([timeoutMsg]), events: [plain('timeout_packet', { ...p, packet_sequence: '399172', msg_index: '0' })] },
      ]),
      mainnetCounterparty,
    );
    expect(parsed.problems).toEqual([]);
    const [ack, timeout] = parsed.events;
    expect(ack!.event).toBe('packet.acknowledged');
    expect(ack!.payload as PacketAcknowledgedV1).toMatchObject({ packet: { src_chain_id: 'dymension_1100-1', sequence: '399171' }, dst_chain_id: 'osmosis-1', relayer: 'dym1relayer', effected: true, ack_success: false });
    expect(timeout!.event).toBe('packet.timed_out');
    expect(timeout!.payload as PacketTimedOutV1).toMatchObject({ packet: { sequence: '399172' }, relayer: 'dym1relayer2', effected: true });
  });

  it('ignores failed transactions: they changed nothing on chain', () => {
    const parsed = parseBlock(block('osmosis-1', [{ tx: tx([recvMsg(RELAYER_A)]), events: [], code: 5 }]), mainnetCounterparty);
    expect(parsed).toEqual({ events: [], problems: [], unsupported: [] });
  });

  it('reports malformed events with their reason and still parses the rest of the block', () => {
    const good = plain('send_packet', Object.fromEntries((osmosisSendPacket.attributes ?? []).map((a) => [a.key, a.value!])));
    const noSequence = plain('send_packet', { ...attrsOf(good), packet_sequence: '' });
    const badHex = plain('send_packet', { ...attrsOf(good), packet_sequence: '2', packet_data_hex: 'zz' });
    const badJson = plain('send_packet', { ...attrsOf(good), packet_sequence: '3', packet_data_hex: Buffer.from('{not json').toString('hex') });
    const absurd = plain('send_packet', { ...attrsOf(good), packet_sequence: '99999999999999999999' });
    const zero = plain('send_packet', { ...attrsOf(good), packet_sequence: '0' });
    const badChannel = plain('send_packet', { ...attrsOf(good), packet_sequence: '4', packet_src_channel: 'channel-x; DROP' });
    const unknownPath = plain('recv_packet', { ...dymensionToOsmosisPacket, packet_dst_channel: 'channel-999999' });
    const parsed = parseBlock(
      block('osmosis-1', [{ tx: tx([]), events: [noSequence, badHex, badJson, absurd, zero, badChannel, unknownPath, good] }]),
      mainnetCounterparty,
    );
    expect(parsed.problems.map((p) => p.reason)).toEqual([
      'missing_attribute',
      'bad_hex',
      'invalid_json',
      'absurd_value',
      'absurd_value',
      'absurd_value',
      'unknown_counterparty',
    ]);
    expect(parsed.problems.every((p) => p.chainId === 'osmosis-1' && p.height === '16000123' && p.txHash)).toBe(true);
    expect(parsed.events.map((e) => (e.payload as PacketSentV1).packet.sequence)).toEqual(['293662']);
  });

  it('reports a transaction that does not decode and keeps its events', () => {
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0x01]).toString('base64');
    const parsed = parseBlock(block('osmosis-1', [{ tx: garbage, events: [osmosisSendPacket] }]), mainnetCounterparty);
    expect(parsed.problems.map((p) => p.reason)).toEqual(['bad_tx']);
    expect(parsed.events).toHaveLength(1);
  });

  it('accepts the 0.34 encoding of the same event as the 0.38 encoding and produces the same event', () => {
    const raw = tx([]);
    const plainParsed = parseBlock(block('osmosis-1', [{ tx: raw, events: [osmosisSendPacket] }]), mainnetCounterparty);
    const b64Parsed = parseBlock(block('osmosis-1', [{ tx: raw, events: [b64(osmosisSendPacket)] }], true), mainnetCounterparty);
    expect(b64Parsed).toEqual(plainParsed);
  });

  describe('block-level events (no transaction)', () => {
    it('stores a send_packet from finalize_block_events (0.38, mode EndBlock) with its height and a null tx hash', () => {
      const endBlockSend: RawEvent = { type: 'send_packet', attributes: [...osmosisSendPacket.attributes!.filter((a) => a.key !== 'msg_index'), { key: 'mode', value: 'EndBlock', index: true }] };
      const input = { ...block('osmosis-1', []), blockEvents: [plain('coinbase', { minter: 'module', mode: 'BeginBlock' }), endBlockSend] };
      const out = parseBlock(input, mainnetCounterparty);
      expect(out.problems).toEqual([]);
      expect(out.events).toHaveLength(1);
      const sent = out.events[0]!.payload as PacketSentV1;
      expect(out.events[0]!.event).toBe('packet.sent');
      expect(sent).toMatchObject({ chain_id: 'osmosis-1', height: '16000123', tx_hash: null, msg_index: 0, packet: { src_chain_id: 'osmosis-1' } });
      expect(sent.packet.sequence).toBe(attrsOf(osmosisSendPacket).packet_sequence);
    });

    it('reads 0.34 end_block_events with base64 attributes, and ignores block events that are not packets', () => {
      const input = { ...block('noble-1', [], true), blockEvents: [b64(plain('coinbase', { minter: 'module' })), nobleSendPacketBase64] };
      const out = parseBlock(input, mainnetCounterparty);
      expect(out.problems).toEqual([]);
      expect(out.events.map((e) => [e.event, (e.payload as PacketSentV1).tx_hash])).toEqual([['packet.sent', null]]);
    });

    it('a malformed block-level send is a problem with no tx hash; the rest of the block counts', () => {
      const broken = plain('send_packet', { packet_src_port: 'transfer' });
      const input = { ...block('osmosis-1', []), blockEvents: [broken, osmosisSendPacket] };
      const out = parseBlock(input, mainnetCounterparty);
      expect(out.events).toHaveLength(1);
      expect(out.problems).toEqual([expect.objectContaining({ txHash: undefined, eventType: 'send_packet', detail: expect.stringContaining('block-level event') })]);
    });
  });

  describe('acknowledgements written after the receipt (async acks)', () => {
    it('a receipt without write_acknowledgement says the ack is pending', () => {
      const parsed = parseBlock(block('osmosis-1', [{ tx: tx([updateClient, recvMsg(RELAYER_A)]), events: [plain('recv_packet', dymensionToOsmosisPacket)] }]), mainnetCounterparty);
      expect(parsed.problems).toEqual([]);
      expect(parsed.events.map((e) => e.event)).toEqual(['packet.received']);
      expect(parsed.events[0]!.payload).toMatchObject({ effected: true, ack_pending: true });
      expect(parsed.events[0]!.payload).not.toHaveProperty('ack_hex');
    });

    it('a synchronous ack leaves ack_pending out', () => {
      const events = [plain('recv_packet', dymensionToOsmosisPacket), plain('write_acknowledgement', { ...dymensionToOsmosisPacket, packet_ack_hex: dymensionAckHex })];
      const parsed = parseBlock(block('osmosis-1', [{ tx: tx([updateClient, recvMsg(RELAYER_A)]), events }]), mainnetCounterparty);
      expect(parsed.events[0]!.payload).not.toHaveProperty('ack_pending');
    });

    it('a write_acknowledgement alone in a later transaction is packet.ack_written, keyed by the source chain', () => {
      const events = [plain('write_acknowledgement', { ...dymensionToOsmosisPacket, packet_ack_hex: dymensionAckHex })];
      const parsed = parseBlock(block('osmosis-1', [{ tx: tx([]), events }]), mainnetCounterparty);
      expect(parsed.problems).toEqual([]);
      expect(parsed.events.map((e) => e.event)).toEqual(['packet.ack_written']);
      expect(parsed.events[0]!.payload).toMatchObject({
        packet: { src_chain_id: 'dymension_1100-1', src_channel: 'channel-2', sequence: '399171' },
        chain_id: 'osmosis-1',
        dst_chain_id: 'osmosis-1',
        ack_hex: dymensionAckHex,
        ack_success: true,
        tx_hash: expect.stringMatching(/^[0-9A-F]{64}$/),
      });
    });

    it('a block-level write_acknowledgement has no tx hash; one with an unknown channel is a problem', () => {
      const known = plain('write_acknowledgement', { ...dymensionToOsmosisPacket, packet_ack_hex: dymensionAckHex });
      const unknown = plain('write_acknowledgement', { ...dymensionToOsmosisPacket, packet_dst_channel: 'channel-999999', packet_ack_hex: dymensionAckHex });
      const parsed = parseBlock({ ...block('osmosis-1', []), blockEvents: [known, unknown] }, mainnetCounterparty);
      expect(parsed.events.map((e) => [e.event, (e.payload as { tx_hash: string | null }).tx_hash])).toEqual([['packet.ack_written', null]]);
      expect(parsed.problems).toEqual([expect.objectContaining({ reason: 'unknown_counterparty' })]);
    });
  });

  describe('traffic not tracked yet', () => {
    it('counts IBC v2 (ibc-go v10) packet events as unsupported, in transactions and at the block level, never as malformed', () => {
      const v2 = plain('send_packet', {
        packet_source_client: '07-tendermint-0',
        packet_dest_client: '08-wasm-1',
        packet_sequence: '12',
        packet_timeout_timestamp: '1765000000',
        encoded_packet_hex: '0a0c',
      });
      const parsed = parseBlock({ ...block('osmosis-1', [{ tx: tx([]), events: [v2, plain('recv_packet', { packet_source_client: 'c', packet_sequence: '3' })] }]), blockEvents: [v2] }, mainnetCounterparty);
      expect(parsed.events).toEqual([]);
      expect(parsed.problems).toEqual([]);
      expect(parsed.unsupported.map((u) => [u.reason, u.eventType])).toEqual([
        ['ibc_v2', 'send_packet'],
        ['ibc_v2', 'recv_packet'],
        ['ibc_v2', 'send_packet'],
      ]);
      expect(parsed.unsupported[0]!.detail).toBe('IBC v2 send_packet 07-tendermint-0 → 08-wasm-1 sequence 12');
    });
  });
});

function attrsOf(e: RawEvent): Record<string, string> {
  return Object.fromEntries((e.attributes ?? []).map((a) => [a.key, a.value ?? '']));
}
