import {
  EVENTS,
  EVENT_NAMES,
  decodeSubjectToken,
  encodeSubjectToken,
  eventForSubject,
  msgIdFor,
  subjectFilter,
  subjectFor,
  validateEvent,
  type PacketSentV1,
} from './index';

const sent: PacketSentV1 = {
  packet: { src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: 'channel-141', sequence: '18446744073709551615' },
  dst_chain_id: 'osmosis-1',
  dst_port: 'transfer',
  dst_channel: 'channel-0',
  connection_id: 'connection-257',
  channel_ordering: 'ORDER_UNORDERED',
  timeout_height: { revision_number: '1', revision_height: '5825355' },
  timeout_timestamp_ns: '0',
  chain_id: 'cosmoshub-4',
  height: '19000000',
  block_time: '2024-01-02T03:04:05.123Z',
  tx_hash: 'A'.repeat(64),
  msg_index: 0,
  transfer: {
    denom: 'uatom',
    amount: '1000000',
    sender: 'cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu',
    receiver: 'osmo1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5t8v0s8',
  },
};

describe('event subjects', () => {
  it('puts the version after the event name and the routing tokens last', () => {
    expect(subjectFor('packet.sent', sent)).toBe('unstuck.packet.sent.v1.cosmoshub-4.channel-141');
  });

  it('gives wildcard filters for one event, and one event on one chain', () => {
    expect(subjectFilter('packet.sent')).toBe('unstuck.packet.sent.v1.>');
    expect(subjectFilter('packet.received', 'osmosis-1')).toBe('unstuck.packet.received.v1.osmosis-1.>');
  });

  it('maps subjects back to their event and rejects unknown or malformed ones', () => {
    expect(eventForSubject('unstuck.packet.sent.v1.cosmoshub-4.channel-141')).toBe('packet.sent');
    expect(eventForSubject('unstuck.packet.sent.v2.cosmoshub-4.channel-141')).toBeUndefined();
    expect(eventForSubject('unstuck.packet.sent.v1.cosmoshub-4')).toBeUndefined();
    expect(eventForSubject('other.packet.sent.v1.a.b')).toBeUndefined();
  });

  it('encodes characters NATS forbids in a token reversibly', () => {
    for (const raw of ['cosmoshub-4', 'a.b c*d>e', 'ünï~code']) {
      const token = encodeSubjectToken(raw);
      expect(token).toMatch(/^[A-Za-z0-9_~-]+$/);
      expect(decodeSubjectToken(token)).toBe(raw);
    }
  });

  it('has one subject per event and every event name is unique', () => {
    const addresses = EVENT_NAMES.map((n) => `${EVENTS[n].name}.v${EVENTS[n].version}`);
    expect(new Set(addresses).size).toBe(EVENT_NAMES.length);
  });
});

describe('message ids', () => {
  it('are deterministic for the same fact and differ for another relay of the same packet', () => {
    expect(msgIdFor('packet.sent', sent)).toBe(msgIdFor('packet.sent', structuredClone(sent)));
    const recv = {
      ...sent,
      chain_id: 'osmosis-1',
      relayer: 'osmo1relayer',
      effected: true,
    };
    delete (recv as Partial<typeof recv>).transfer;
    const a = msgIdFor('packet.received', recv as never);
    const b = msgIdFor('packet.received', { ...recv, tx_hash: 'B'.repeat(64) } as never);
    expect(a).not.toBe(b);
  });
});

describe('payload validation', () => {
  it('accepts a valid payload', () => {
    expect(validateEvent('packet.sent', sent)).toEqual({ ok: true, value: sent });
  });

  it('rejects a payload with a wrong type, a bad format, or an unknown field, naming the path', () => {
    const bad = { ...sent, msg_index: -1, block_time: 'yesterday', extra: 1 };
    const result = validateEvent('packet.sent', bad);
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.join('\n');
    expect(errors).toContain('/msg_index');
    expect(errors).toContain('/block_time');
    expect(errors).toContain('/extra');
  });

  it('rejects a float amount: money is integer base units in a string', () => {
    const bad = { ...sent, transfer: { ...sent.transfer!, amount: '1.5' } };
    expect(validateEvent('packet.sent', bad).ok).toBe(false);
  });
});
