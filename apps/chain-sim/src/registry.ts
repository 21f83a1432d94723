import { toBech32 } from '@cosmjs/encoding';
import { createHash } from 'node:crypto';

/** One end of an IBC transfer path. */
export interface ChannelEnd {
  chainId: string;
  channelId: string;
  connectionId: string;
}
export interface Path {
  a: ChannelEnd;
  b: ChannelEnd;
}
export interface ChainInfo {
  chainName: string;
  chainId: string;
  bech32Prefix: string;
  denom: string;
  /** ibc-go revision number: the number after the last '-' of the chain id (cosmoshub-4 → 4). */
  revision: number;
}

interface RegistryModule {
  chain: { chainName: string; chainId: string; bech32Prefix: string; fees?: { feeTokens?: Array<{ denom: string }> } };
  ibcData: Array<{
    chain1: { chainName: string; connectionId: string };
    chain2: { chainName: string; connectionId: string };
    channels: Array<{ chain1: { channelId: string; portId: string }; chain2: { channelId: string; portId: string }; tags?: { preferred?: boolean } }>;
  }>;
}

function load(name: string): RegistryModule {
  // One chain's module at a time: the whole registry is tens of megabytes.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`chain-registry/mainnet/${name}`) as RegistryModule;
}

/** Chain metadata and the preferred transfer channels between the named chains, from the chain-registry package. */
export function loadNetwork(chainNames: readonly string[]): { chains: ChainInfo[]; paths: Path[] } {
  const modules = chainNames.map((n) => ({ n, m: load(n) }));
  const chains = modules.map(({ n, m }) => {
    const revision = Number(/-(\d+)$/.exec(m.chain.chainId)?.[1] ?? 0);
    return { chainName: n, chainId: m.chain.chainId, bech32Prefix: m.chain.bech32Prefix, denom: m.chain.fees?.feeTokens?.[0]?.denom ?? `u${n}`, revision };
  });
  const byName = new Map(chains.map((c) => [c.chainName, c]));
  const paths: Path[] = [];
  const seen = new Set<string>();
  for (const { m } of modules) {
    for (const pair of m.ibcData) {
      const c1 = byName.get(pair.chain1.chainName);
      const c2 = byName.get(pair.chain2.chainName);
      const key = [pair.chain1.chainName, pair.chain2.chainName].sort().join('|');
      if (!c1 || !c2 || seen.has(key)) continue;
      const channel =
        pair.channels.find((c) => c.chain1.portId === 'transfer' && c.tags?.preferred) ?? pair.channels.find((c) => c.chain1.portId === 'transfer');
      if (!channel) continue;
      seen.add(key);
      paths.push({
        a: { chainId: c1.chainId, channelId: channel.chain1.channelId, connectionId: pair.chain1.connectionId },
        b: { chainId: c2.chainId, channelId: channel.chain2.channelId, connectionId: pair.chain2.connectionId },
      });
    }
  }
  return { chains, paths };
}

/** A deterministic bech32 address for `label` on a chain with `prefix`. */
export function address(prefix: string, label: string): string {
  return toBech32(prefix, createHash('sha256').update(label).digest().subarray(0, 20));
}
