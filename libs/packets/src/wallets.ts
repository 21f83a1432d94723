import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromBech32 } from '@cosmjs/encoding';

/** Why an address was refused, in words a Cosmos user understands. */
export class InvalidWalletError extends Error {
  constructor(
    readonly address: string,
    readonly reason: 'malformed' | 'unknown_prefix' | 'bad_length',
    message: string,
  ) {
    super(message);
    this.name = 'InvalidWalletError';
  }

  /** The code the API and the notifier answer with. */
  get code(): 'unknown_address_prefix' | 'invalid_address' {
    return this.reason === 'unknown_prefix' ? 'unknown_address_prefix' : 'invalid_address';
  }
}

/** What Unstuck reads of a chain-registry chain: its id, address prefix and fee tokens (gas prices as decimal strings). */
export interface RegistryChain {
  chainId: string;
  bech32Prefix: string;
  /** Public gRPC endpoints (apis.grpc), as URLs, archive nodes first. */
  grpc: string[];
  feeTokens: ReadonlyArray<{ denom: string; averageGasPrice?: string; lowGasPrice?: string; fixedMinGasPrice?: string }>;
}

let chains: Map<string, RegistryChain> | undefined;
let prefixes: Map<string, string[]> | undefined;

/** Every mainnet chain in the chain-registry package, by chain id (read once, ~80 ms). */
export function registryChains(): ReadonlyMap<string, RegistryChain> {
  if (chains) return chains;
  const map = new Map<string, RegistryChain>();
  const root = join(dirname(require.resolve('chain-registry/package.json')), 'mainnet');
  for (const name of readdirSync(root)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(join(root, name, 'chain.js')) as { default?: RawRegistryChain } & RawRegistryChain;
      const chain = mod.default ?? mod;
      if (!chain.bech32Prefix || !chain.chainId) continue;
      const feeTokens = (chain.fees?.feeTokens ?? []).map((t) => ({
        denom: t.denom,
        ...decimal('averageGasPrice', t.averageGasPrice),
        ...decimal('lowGasPrice', t.lowGasPrice),
        ...decimal('fixedMinGasPrice', t.fixedMinGasPrice),
      }));
      const grpc = orderedAddresses(chain.apis?.grpc).map((a) => (/^[a-z]+:\/\//.test(a) ? a : `${a.endsWith(':443') ? 'https' : 'http'}://${a}`));
      map.set(chain.chainId, { chainId: chain.chainId, bech32Prefix: chain.bech32Prefix, grpc, feeTokens });
    } catch {
      // A folder without a chain module (asset lists only) has nothing to offer.
    }
  }
  chains = map;
  return map;
}

/**
 * The token a chain's fees (and Unstuck's clearing fees there) are paid in, with its gas price as decimal text:
 * chain-registry's first fee token that states a price (average, else low, else the fixed minimum).
 */
export function feeToken(chainId: string): { denom: string; gasPrice: string; bech32Prefix: string } | undefined {
  const info = registryChains().get(chainId);
  const token = info?.feeTokens.find((t) => t.averageGasPrice ?? t.lowGasPrice ?? t.fixedMinGasPrice) ?? info?.feeTokens[0];
  if (!info || !token) return undefined;
  return { denom: token.denom, gasPrice: token.averageGasPrice ?? token.lowGasPrice ?? token.fixedMinGasPrice ?? '0', bech32Prefix: info.bech32Prefix };
}

/**
 * A mainnet chain by its chain-registry name (the folder: cosmoshub, osmosis…): its chain id and its public RPC
 * endpoints (https only), archive nodes first. Undefined when the registry has no such chain.
 */
export function registryChainByName(name: string): { chainId: string; bech32Prefix: string; rpc: string[] } | undefined {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) return undefined;
  const root = join(dirname(require.resolve('chain-registry/package.json')), 'mainnet');
  let chain: RawRegistryChain;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(root, name, 'chain.js')) as { default?: typeof chain } & typeof chain;
    chain = mod.default ?? mod;
  } catch {
    return undefined;
  }
  if (!chain.chainId || !chain.bech32Prefix) return undefined;
  const rpc = [...new Set(orderedAddresses(chain.apis?.rpc).filter((a) => /^https:\/\//.test(a)).map((a) => a.replace(/:443\/?$/, '').replace(/\/$/, '')))];
  return { chainId: chain.chainId, bech32Prefix: chain.bech32Prefix, rpc };
}

/** bech32 prefix → chain ids, for every mainnet chain in the chain-registry package. */
export function knownPrefixes(): ReadonlyMap<string, readonly string[]> {
  if (prefixes) return prefixes;
  const map = new Map<string, string[]>();
  for (const c of registryChains().values()) map.set(c.bech32Prefix, [...(map.get(c.bech32Prefix) ?? []), c.chainId]);
  prefixes = map;
  return map;
}

/** The registry gives gas prices as JSON numbers; kept as the decimal text they were written as, never as floats in arithmetic. */
function decimal<K extends string>(key: K, value: number | string | undefined): { [P in K]?: string } {
  if (value === undefined || value === null) return {};
  const text = typeof value === 'number' ? value.toFixed(12).replace(/0+$/, '').replace(/\.$/, '') : String(value);
  return (/^[0-9]+(\.[0-9]+)?$/.test(text) ? { [key]: text } : {}) as { [P in K]?: string };
}

/** A registry API list's addresses, archive nodes first, without duplicates. */
function orderedAddresses(list: Array<{ address?: string; archive?: boolean }> | undefined): string[] {
  const valid = (list ?? []).filter((e) => typeof e.address === 'string' && /^[^\s]+$/.test(e.address));
  return [...new Set([...valid.filter((e) => e.archive), ...valid.filter((e) => !e.archive)].map((e) => e.address!))];
}

interface RawRegistryChain {
  bech32Prefix?: string;
  chainId?: string;
  apis?: { rpc?: Array<{ address?: string; archive?: boolean }>; grpc?: Array<{ address?: string; archive?: boolean }> };
  fees?: { feeTokens?: Array<{ denom: string; averageGasPrice?: number; lowGasPrice?: number; fixedMinGasPrice?: number }> };
}

/**
 * A wallet address as users paste it: bech32 with a valid checksum, a prefix some registered Cosmos chain uses,
 * and a 20- or 32-byte payload (accounts and contract/module accounts). Returns the normalised (lower-case) form.
 */
export function parseWallet(input: string, extraPrefixes: readonly string[] = []): { address: string; prefix: string } {
  const address = input.trim();
  if (address !== address.toLowerCase() && address !== address.toUpperCase()) {
    throw new InvalidWalletError(input, 'malformed', `"${input}" is not a bech32 address: it mixes upper and lower case`);
  }
  let decoded: { prefix: string; data: Uint8Array };
  try {
    decoded = fromBech32(address.toLowerCase(), 128);
  } catch (e) {
    throw new InvalidWalletError(input, 'malformed', `"${input}" is not a valid bech32 address (${(e as Error).message.replace(/\.$/, '')})`);
  }
  if (!knownPrefixes().has(decoded.prefix) && !extraPrefixes.includes(decoded.prefix)) {
    throw new InvalidWalletError(input, 'unknown_prefix', `"${decoded.prefix}" is not the address prefix of any Cosmos chain in the chain registry`);
  }
  if (decoded.data.length !== 20 && decoded.data.length !== 32) {
    throw new InvalidWalletError(input, 'bad_length', `"${input}" holds ${decoded.data.length} bytes; a Cosmos account address holds 20 or 32`);
  }
  return { address: address.toLowerCase(), prefix: decoded.prefix };
}
