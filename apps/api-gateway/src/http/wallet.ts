import { InvalidWalletError, parseWallet } from '@unstuck/packets';
import { ApiError } from './errors';

/** A wallet address from a request, normalised; a malformed one or an unknown prefix is a 400 that says which. */
export function walletParam(value: string, name: string): string {
  try {
    return parseWallet(value).address;
  } catch (e) {
    if (!(e instanceof InvalidWalletError)) throw e;
    throw ApiError.badRequest(e.code, `parameter "${name}": ${e.message}`, { parameter: name });
  }
}
