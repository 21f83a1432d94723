import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { buildHermesConfig } from './hermes-config';

interface ChainTable {
  id: string;
  rpc_addr: string;
  grpc_addr: string;
  event_source: { mode: string; url: string };
  account_prefix: string;
  key_name: string;
  gas_price: { price: number; denom: string };
  packet_filter: { policy: string; list: string[][] };
}

describe('npm run hermes:config', () => {
  it('writes a config Hermes reads for real chains named by chain-registry: every chain, its gRPC, gas price, key and followed channels', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'hermes-config-')), 'chains.yaml');
    writeFileSync(file, '- chain: cosmoshub\n- chain: osmosis\n');
    const { toml, problems, chains } = buildHermesConfig(file, 'relayer-1');
    expect(chains).toBe(2);
    expect(problems).toEqual([]);
    const config = parse(toml) as unknown as { mode: { packets: { clear_interval: number } }; chains: ChainTable[] };
    expect(config.mode.packets.clear_interval).toBe(0);
    expect(config.chains.map((c) => c.id)).toEqual(['cosmoshub-4', 'osmosis-1']);
    const hub = config.chains[0]!;
    expect(hub).toMatchObject({ account_prefix: 'cosmos', key_name: 'relayer-1', gas_price: { denom: 'uatom' }, event_source: { mode: 'push' } });
    expect(hub.grpc_addr).not.toBe('');
    expect(hub.event_source.url).toMatch(/^wss?:\/\/.+\/websocket$/);
    // Only channels whose other end is followed: cosmoshub's channel to osmosis, and osmosis' back.
    expect(hub.packet_filter).toEqual({ policy: 'allow', list: [['transfer', 'channel-141']] });
    expect(config.chains[1]!.packet_filter.list).toContainEqual(['transfer', 'channel-0']);
  });

  it('for chains with no gRPC known (chain-sim, a node of your own) still writes every chain and says what is missing', () => {
    const { toml, problems } = buildHermesConfig(join(__dirname, '..', 'config', 'chains.yaml'), 'unstuck');
    const config = parse(toml) as unknown as { chains: ChainTable[] };
    expect(config.chains.map((c) => c.id)).toEqual(['cosmoshub-4', 'osmosis-1', 'neutron-1']);
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining('cosmoshub-4: no gRPC endpoint is known; add grpc to its entry in the chains file')]));
  });
});
