import { CounterpartyDirectory } from './counterparty-directory';

describe('CounterpartyDirectory', () => {
  it('knows both ends of the mainnet transfer channels between configured chains from chain-registry', () => {
    const d = new CounterpartyDirectory([
      { chain_id: 'cosmoshub-4', rpc: ['http://x'] },
      { chain_id: 'osmosis-1', rpc: ['http://y'] },
      { chain_id: 'neutron-1', rpc: ['http://z'] },
    ]);
    expect(d.resolve('cosmoshub-4', 'transfer', 'channel-141')).toBe('osmosis-1');
    expect(d.resolve('osmosis-1', 'transfer', 'channel-0')).toBe('cosmoshub-4');
    expect(d.resolve('neutron-1', 'transfer', 'channel-1')).toBe('cosmoshub-4');
    expect(d.resolve('neutron-1', 'transfer', 'channel-10')).toBe('osmosis-1');
    expect(d.resolve('cosmoshub-4', 'transfer', 'channel-999999')).toBeUndefined();
  });

  it('lets the chains file name counterparties chain-registry does not know, and prefers them', () => {
    const d = new CounterpartyDirectory(
      [{ chain_id: 'localnet-1', rpc: ['http://x'], counterparties: { 'transfer/channel-7': 'othernet-2' } }],
      false,
    );
    expect(d.resolve('localnet-1', 'transfer', 'channel-7')).toBe('othernet-2');
  });
});
