/**
 * Packet events with attribute values as emitted on mainnet (osmosis-1 → kujira-1, noble-1 → pacific-1,
 * dymension_1100-1 → osmosis-1, neutron-1 → noble-1), in the encodings of CometBFT 0.34 (base64 keys and values)
 * and 0.37/0.38 (plain text, with the SDK 0.50 msg_index attribute).
 */
import type { RawEvent } from '../abci-events';

/** osmosis-1 send_packet, CometBFT 0.38 plain attributes. */
export const osmosisSendPacket: RawEvent = {
  type: 'send_packet',
  attributes: [
    { key: 'connection_id', value: 'connection-1559' },
    { key: 'packet_channel_ordering', value: 'ORDER_UNORDERED' },
    { key: 'packet_connection', value: 'connection-1559' },
    {
      key: 'packet_data',
      value:
        '{"denom":"transfer/channel-259/ukuji","amount":"14966901","sender":"osmo17yp3yva7exg0ru2yl2waewcgdsw9ac3f2m43ukgd7d39e044yr6qzwkyd3","receiver":"kujira153z9a90f0977p2qde28m0csxuavquyatef9xtp"}',
    },
    {
      key: 'packet_data_hex',
      value:
        '7b2264656e6f6d223a227472616e736665722f6368616e6e656c2d3235392f756b756a69222c22616d6f756e74223a223134393636393031222c2273656e646572223a226f736d6f31377970337976613765786730727532796c327761657763676473773961633366326d3433756b67643764333965303434797236717a776b796433222c227265636569766572223a226b756a6972613135337a396139306630393737703271646532386d306373787561767175796174656639787470227d',
    },
    { key: 'packet_dst_channel', value: 'channel-3' },
    { key: 'packet_dst_port', value: 'transfer' },
    { key: 'packet_sequence', value: '293662' },
    { key: 'packet_src_channel', value: 'channel-259' },
    { key: 'packet_src_port', value: 'transfer' },
    { key: 'packet_timeout_height', value: '0-0' },
    { key: 'packet_timeout_timestamp', value: '1730462659929766700' },
    { key: 'msg_index', value: '1' },
  ],
};

/** noble-1 send_packet, CometBFT 0.34 base64 attributes (no packet_data_hex decoding issue: both present). */
export const nobleSendPacketBase64: RawEvent = {
  type: 'send_packet',
  attributes: [
    {
      key: 'cGFja2V0X2RhdGE=',
      value:
        'eyJhbW91bnQiOiIzNDczMDAwMDAwIiwiZGVub20iOiJ1dXNkYyIsInJlY2VpdmVyIjoic2VpMWt3Z25lY3lzcTVxeGhnMmg4NmNwN2cwNWU2enN6dHJjZzAzOWg2Iiwic2VuZGVyIjoibm9ibGUxcGswYzB4MGxtdjVtbTgweXJtcmNtMno1eTgzZjN2bXV2dmNqNHgifQ==',
    },
    {
      key: 'cGFja2V0X2RhdGFfaGV4',
      value:
        'N2IyMjYxNmQ2Zjc1NmU3NDIyM2EyMjMzMzQzNzMzMzAzMDMwMzAzMDMwMjIyYzIyNjQ2NTZlNmY2ZDIyM2EyMjc1NzU3MzY0NjMyMjJjMjI3MjY1NjM2NTY5NzY2NTcyMjIzYTIyNzM2NTY5MzE2Yjc3Njc2ZTY1NjM3OTczNzEzNTcxNzg2ODY3MzI2ODM4MzY2MzcwMzc2NzMwMzU2NTM2N2E3MzdhNzQ3MjYzNjczMDMzMzk2ODM2MjIyYzIyNzM2NTZlNjQ2NTcyMjIzYTIyNmU2ZjYyNmM2NTMxNzA2YjMwNjMzMDc4MzA2YzZkNzYzNTZkNmQzODMwNzk3MjZkNzI2MzZkMzI3YTM1NzkzODMzNjYzMzc2NmQ3NTc2NzY2MzZhMzQ3ODIyN2Q=',
    },
    { key: 'cGFja2V0X3RpbWVvdXRfaGVpZ2h0', value: 'MTQ2OTEwMTgtMTQ2OTExMTg=' },
    { key: 'cGFja2V0X3RpbWVvdXRfdGltZXN0YW1w', value: 'MA==' },
    { key: 'cGFja2V0X3NlcXVlbmNl', value: 'MTU1OTg=' },
    { key: 'cGFja2V0X3NyY19wb3J0', value: 'dHJhbnNmZXI=' },
    { key: 'cGFja2V0X3NyY19jaGFubmVs', value: 'Y2hhbm5lbC0zOQ==' },
    { key: 'cGFja2V0X2RzdF9wb3J0', value: 'dHJhbnNmZXI=' },
    { key: 'cGFja2V0X2RzdF9jaGFubmVs', value: 'Y2hhbm5lbC00NQ==' },
    { key: 'cGFja2V0X2NoYW5uZWxfb3JkZXJpbmc=', value: 'T1JERVJfVU5PUkRFUkVE' },
    { key: 'cGFja2V0X2Nvbm5lY3Rpb24=', value: 'Y29ubmVjdGlvbi02MQ==' },
  ],
};

/** The packet fields of a dymension_1100-1 → osmosis-1 transfer received on osmosis (0.38); its long wasm-hook memo is left out of the data. */
export const dymensionToOsmosisPacket: Record<string, string> = {
  packet_data_hex:
    '7b22616d6f756e74223a223337303030303030303030303030303030303030222c2264656e6f6d223a226164796d222c227265636569766572223a226f736d6f316538706c6438667435726333716d373868636c647932703035726a72667a6165656135306d70307a763563323934706c327079716b356a726e64222c2273656e646572223a2264796d31617932636b78347338766e686379763336686835713673713434763032766863726177726176227d',
  packet_timeout_height: '1-23278545',
  packet_timeout_timestamp: '0',
  packet_sequence: '399171',
  packet_src_port: 'transfer',
  packet_src_channel: 'channel-2',
  packet_dst_port: 'transfer',
  packet_dst_channel: 'channel-19774',
  packet_channel_ordering: 'ORDER_UNORDERED',
  packet_connection: 'connection-2566',
  connection_id: 'connection-2566',
  msg_index: '1',
};
export const dymensionAckHex =
  '7b22726573756c74223a2265794a6a62323530636d466a644639795a584e31624851694f6d353162477773496d6c6959313968593273694f694a6c65557035576c684f4d574a4955576c5061557043565651774f556c754d44306966513d3d227d';

/** neutron-1 → noble-1 write_acknowledgement as noble emitted it (0.34 base64). */
export const nobleWriteAckBase64: RawEvent = {
  type: 'write_acknowledgement',
  attributes: [
    {
      key: 'cGFja2V0X2RhdGE=',
      value:
        'eyJhbW91bnQiOiIyMDAzNDU4NTciLCJkZW5vbSI6InRyYW5zZmVyL2NoYW5uZWwtMzAvdXVzZGMiLCJyZWNlaXZlciI6Im5vYmxlMTZlbjlhdGVxNTU2NWM0bjI2ZWQwd3lrbW5xaGQwdGhwYzU3dG1oIiwic2VuZGVyIjoibmV1dHJvbjE2ZW45YXRlcTU1NjVjNG4yNmVkMHd5a21ucWhkMHRocDVnenBlNyJ9',
    },
    { key: 'cGFja2V0X3RpbWVvdXRfaGVpZ2h0', value: 'MC0w' },
    { key: 'cGFja2V0X3RpbWVvdXRfdGltZXN0YW1w', value: 'MTczMDQ2Nzc2ODIyOTAwMDAwMA==' },
    { key: 'cGFja2V0X3NlcXVlbmNl', value: 'MzAyODg=' },
    { key: 'cGFja2V0X3NyY19wb3J0', value: 'dHJhbnNmZXI=' },
    { key: 'cGFja2V0X3NyY19jaGFubmVs', value: 'Y2hhbm5lbC0zMA==' },
    { key: 'cGFja2V0X2RzdF9wb3J0', value: 'dHJhbnNmZXI=' },
    { key: 'cGFja2V0X2RzdF9jaGFubmVs', value: 'Y2hhbm5lbC0xOA==' },
    { key: 'cGFja2V0X2Fjaw==', value: 'eyJyZXN1bHQiOiJBUT09In0=' },
    { key: 'cGFja2V0X2Fja19oZXg=', value: 'N2IyMjcyNjU3Mzc1NmM3NDIyM2EyMjQxNTEzZDNkMjI3ZA==' },
    { key: 'cGFja2V0X2Nvbm5lY3Rpb24=', value: 'Y29ubmVjdGlvbi0zNA==' },
  ],
};

/** Channel → counterparty chain, as chain-registry's IBC data records these mainnet paths. */
export const MAINNET_COUNTERPARTIES: Record<string, string> = {
  'osmosis-1/transfer/channel-259': 'kaiyo-1',
  'noble-1/transfer/channel-39': 'pacific-1',
  'osmosis-1/transfer/channel-19774': 'dymension_1100-1',
  'noble-1/transfer/channel-18': 'neutron-1',
  'dymension_1100-1/transfer/channel-2': 'osmosis-1',
};
export const mainnetCounterparty = (chain: string, port: string, channel: string) => MAINNET_COUNTERPARTIES[`${chain}/${port}/${channel}`];
