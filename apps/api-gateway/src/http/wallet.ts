import { LRUCache } from 'lru-cache';
import { InvalidWalletError, parseWallet } from '@unstuck/packets';
import { ApiError } from './errors';

/** Addresses already found valid, normalised: a checksum is checked once per address, not once per request. */
const valid = new LRUCache<string, string>({ max: 100_000 });

/** A wallet address from a request, normalised; a malformed one or an unknown prefix is a 400 that says which. */
export function walletParam(value: string, name: string): string {
  const known = valid.get(value);
  if (known !== undefined) return known;
  try {
    const { address } = parseWallet(value);
    valid.set(value, address);
    return address;
  } catch (e) {
    if (!(e instanceof InvalidWalletError)) throw e;
    throw ApiError.badRequest(e.code, `parameter "${name}": ${e.message}`, { parameter: name });
  }
}
