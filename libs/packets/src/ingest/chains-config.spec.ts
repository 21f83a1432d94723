import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainsConfigError, loadChainsConfig } from './chains-config';

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'chains-config-')), 'chains.yaml');
  writeFileSync(path, text);
  return path;
};

describe('loadChainsConfig', () => {
  it('takes one RPC URL or a list', () => {
    const chains = loadChainsConfig(file('- chain_id: a-1\n  rpc: http://a:26657\n- chain_id: b-1\n  rpc: [http://b1:26657, https://b2]\n  requests_per_second: 5\n'));
    expect(chains.map((c) => [c.chain_id, c.rpc, c.requests_per_second])).toEqual([
      ['a-1', ['http://a:26657'], undefined],
      ['b-1', ['http://b1:26657', 'https://b2'], 5],
    ]);
  });

  it('fills chain id and RPC endpoints from a chain-registry name; explicit fields override', () => {
    const [hub, osmosis] = loadChainsConfig(file('- chain: cosmoshub\n- chain: osmosis\n  rpc: http://127.0.0.1:26667\n'));
    expect(hub!.chain_id).toBe('cosmoshub-4');
    expect(hub!.rpc.length).toBeGreaterThanOrEqual(2);
    expect(hub!.rpc.length).toBeLessThanOrEqual(6);
    for (const url of hub!.rpc) expect(url).toMatch(/^https:\/\/[^\s]+[^/]$/);
    expect(osmosis).toMatchObject({ chain_id: 'osmosis-1', rpc: ['http://127.0.0.1:26667'] });
  });

  it('ships a mainnet chains file that resolves every name', () => {
    const chains = loadChainsConfig(join(__dirname, '..', '..', '..', '..', 'config', 'chains.mainnet.yaml'));
    expect(chains.map((c) => c.chain_id)).toEqual(['cosmoshub-4', 'osmosis-1', 'neutron-1', 'noble-1', 'celestia', 'stride-1']);
    for (const c of chains) expect(c.rpc.length).toBeGreaterThan(0);
  });

  it('lists every problem: an unknown name, a missing chain id or rpc, an endpoint twice, a path-like name', () => {
    const error = (() => {
      try {
        loadChainsConfig(file('- chain: notachain\n- rpc: http://x:1\n- chain_id: c-1\n- chain_id: d-1\n  rpc: [http://d, http://d]\n- chain: ../etc\n'));
      } catch (e) {
        return e as ChainsConfigError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ChainsConfigError);
    expect(error.message).toContain('[0].[chain]: notachain is not a mainnet chain in the chain-registry package');
    expect(error.message).toContain('[1].[chain_id]: is required (or name the chain with chain: <chain-registry name>)');
    expect(error.message).toContain('[2].[rpc]: is required');
    expect(error.message).toContain('[3].[rpc]: lists an endpoint twice');
    expect(error.message).toContain('[4].[chain]: must be a chain-registry name such as cosmoshub');
  });
});
