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

let registry: Map<string, string[]> | undefined;

/** bech32 prefix → chain ids, for every mainnet chain in the chain-registry package (read once, ~80 ms). */
export function knownPrefixes(): ReadonlyMap<string, readonly string[]> {
  if (registry) return registry;
  const map = new Map<string, string[]>();
  const root = join(dirname(require.resolve('chain-registry/package.json')), 'mainnet');
  for (const name of readdirSync(root)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(join(root, name, 'chain.js')) as { default?: RegistryChain } & RegistryChain;
      const chain = mod.default ?? mod;
      if (!chain.bech32Prefix || !chain.chainId) continue;
      map.set(chain.bech32Prefix, [...(map.get(chain.bech32Prefix) ?? []), chain.chainId]);
    } catch {
      // A folder without a chain module (asset lists only) has no prefix to offer.
    }
  }
  registry = map;
  return map;
}

interface RegistryChain {
  bech32Prefix?: string;
  chainId?: string;
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
