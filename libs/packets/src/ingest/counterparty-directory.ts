import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ChainConfig } from './chains-config';

interface IbcPair {
  chain1: { chainName: string; chainId?: string };
  chain2: { chainName: string; chainId?: string };
  channels: Array<{ chain1: { channelId: string; portId: string }; chain2: { channelId: string; portId: string } }>;
}

/**
 * Which chain sits at the other end of a channel. From the chains file's `counterparties` first, then from the
 * chain-registry package's IBC data. A channel known to neither has packets that cannot be keyed by their source
 * chain; those events are dead-lettered with the reason unknown_counterparty.
 */
export class CounterpartyDirectory {
  private readonly map = new Map<string, string>();

  constructor(chains: readonly ChainConfig[], useRegistry = true) {
    if (useRegistry) this.loadRegistry(chains.map((c) => c.chain_id));
    for (const c of chains) {
      for (const [portChannel, other] of Object.entries(c.counterparties ?? {})) this.map.set(`${c.chain_id}/${portChannel}`, other);
    }
  }

  /** A directory with exactly these (`chain/port/channel`, counterparty chain id) entries, as `entries()` gave them. */
  static fromEntries(entries: Iterable<[string, string]>): CounterpartyDirectory {
    const d = new CounterpartyDirectory([], false);
    for (const [k, v] of entries) d.map.set(k, v);
    return d;
  }

  entries(): Array<[string, string]> {
    return [...this.map];
  }

  resolve = (chainId: string, port: string, channel: string): string | undefined => this.map.get(`${chainId}/${port}/${channel}`) ?? this.learned.get(`${chainId}/${port}/${channel}`);

  /** Channels learned at run time (from chain state), which the decoding threads get with each task. */
  private readonly learned = new Map<string, string>();

  learn(chainId: string, port: string, channel: string, other: string): void {
    this.learned.set(`${chainId}/${port}/${channel}`, other);
  }

  /** What was learned at run time about one chain's channels, to hand to a decoding thread with its task. */
  learnedFor(chainId: string): Array<[string, string]> {
    return [...this.learned].filter(([k]) => k.startsWith(`${chainId}/`));
  }

  get size(): number {
    return this.map.size;
  }

  private loadRegistry(chainIds: string[]): void {
    // chain-registry is large; read only each chain's small chain.js (its data is the module's default export)
    // to map ids to names, then the IBC data of our chains.
    const root = join(dirname(require.resolve('chain-registry/package.json')), 'mainnet');
    const wanted = new Set(chainIds);
    const names = new Map<string, string>();
    for (const dir of readdirSync(root, { withFileTypes: true })) {
      if (!dir.isDirectory()) continue;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const chain = (require(join(root, dir.name, 'chain.js')) as { default: { chainId?: string } }).default;
        if (chain?.chainId && wanted.has(chain.chainId)) names.set(dir.name, chain.chainId);
      } catch {
        // a registry entry without chain data: not ours
      }
    }
    const idOf = (name: string) => names.get(name) ?? this.nameToIdFallback(root, name);
    for (const name of names.keys()) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ibcData = (require(join(root, name, 'ibc-data.js')) as { default: IbcPair[] }).default ?? [];
      for (const pair of ibcData) {
        const id1 = pair.chain1.chainId ?? idOf(pair.chain1.chainName);
        const id2 = pair.chain2.chainId ?? idOf(pair.chain2.chainName);
        if (!id1 || !id2) continue;
        for (const ch of pair.channels) {
          this.map.set(`${id1}/${ch.chain1.portId}/${ch.chain1.channelId}`, id2);
          this.map.set(`${id2}/${ch.chain2.portId}/${ch.chain2.channelId}`, id1);
        }
      }
    }
  }

  private nameToIdFallback(root: string, name: string): string | undefined {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require(join(root, name, 'chain.js')) as { default?: { chainId?: string } }).default?.chainId;
    } catch {
      return undefined;
    }
  }
}
