import { createHash, randomBytes } from 'node:crypto';

export const MEMO_PREFIX = 'CLR-';

/** A one-time clearing token: 256 random bits, base64url (43 characters). Only its SHA-256 is stored. */
export function newClearingToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether a string has the shape of a token (before any lookup). */
export function isTokenShaped(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}

export const memoFor = (token: string): string => `${MEMO_PREFIX}${token}`;

/** The token a payment memo names, or undefined when the memo is not a clearing memo. */
export function tokenFromMemo(memo: string): string | undefined {
  const t = memo.trim();
  if (!t.startsWith(MEMO_PREFIX)) return undefined;
  const token = t.slice(MEMO_PREFIX.length);
  return isTokenShaped(token) ? token : undefined;
}
