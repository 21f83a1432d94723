import { packetRooms, parseTopic, statsRooms, tokenHash, TopicError } from './topics';

const refused = (t: unknown) => {
  try {
    parseTopic(t);
  } catch (e) {
    return (e as TopicError).code;
  }
  return undefined;
};

describe('topics', () => {
  it('accepts the allowed patterns and names their rooms', () => {
    expect(parseTopic('packets:live')).toMatchObject({ kind: 'packets', room: 'packets:live' });
    expect(parseTopic('platform:stats')).toMatchObject({ kind: 'platform', room: 'platform:stats' });
    expect(parseTopic('channel:cosmoshub-4/channel-141')).toMatchObject({ kind: 'channel', room: 'channel:cosmoshub-4/channel-141' });
    expect(parseTopic('wallet:cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu')).toMatchObject({ kind: 'wallet', wallet: 'cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu' });
    const token = 'a'.repeat(32);
    expect(parseTopic(`clearing:${token}`)).toMatchObject({ kind: 'clearing', room: `clearing:${tokenHash(token)}` });
  });

  it('refuses everything else with a reason', () => {
    expect(refused('packets:dead')).toBe('invalid_topic');
    expect(refused('channel:cosmoshub-4')).toBe('invalid_topic');
    expect(refused('channel:cosmoshub-4/channel-1/x')).toBe('invalid_topic');
    expect(refused('channel:cosmos hub/channel-1')).toBe('invalid_topic');
    expect(refused('wallet:cosmos1bad')).toBe('invalid_address');
    expect(refused('clearing:short')).toBe('invalid_topic');
    expect(refused(42)).toBe('invalid_topic');
    expect(refused('x'.repeat(201))).toBe('invalid_topic');
  });

  it('routes events to rooms', () => {
    const packet = { src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: 'channel-141', sequence: '1' };
    expect(packetRooms({ packet, transfer: { sender: 'cosmos1a', receiver: 'osmo1b' } }).sort()).toEqual(
      ['channel:cosmoshub-4/channel-141', 'packets:live', 'wallet:cosmos1a', 'wallet:osmo1b'].sort(),
    );
    expect(packetRooms({ packet }, ['cosmos1c'])).toContain('wallet:cosmos1c');
    expect(statsRooms({ scope: 'platform', key: 'all' })).toEqual(['platform:stats']);
    expect(statsRooms({ scope: 'channel', key: 'osmosis-1/channel-0' })).toEqual(['channel:osmosis-1/channel-0']);
    expect(statsRooms({ scope: 'relayer', key: 'cosmos1r' })).toEqual([]);
  });
});
