import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { WalletTokens } from '@unstuck/auth';
import { REDIS } from '@unstuck/cache';
import { metric } from '@unstuck/observability';
import { parseWallet } from '@unstuck/packets';
import { ApiError } from '../http/errors';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';
import { verifyAdr036, type StdSignatureInput } from './adr036';

const NONCE_PREFIX = 'unstuck:auth:nonce:v1:';

export interface Challenge {
  address: string;
  nonce: string;
  /** The exact text to sign with signArbitrary (ADR-036). */
  message: string;
  expires_at: string;
}

/**
 * The text a wallet signs, shaped after Sign-In with Ethereum (EIP-4361): the site's domain first, so a wallet that
 * shows it (and a user who reads it) sees which site asks; the address; then URI (the site's origin), version,
 * nonce, issue and expiry times. ADR-036 sign docs carry no chain id, so the message names none.
 */
export function challengeMessage(origin: string, address: string, nonce: string, issuedAt: string, expiresAt: string): string {
  return [
    `${new URL(origin).host} wants you to sign in to Unstuck with your Cosmos account:`,
    address,
    '',
    'This signature costs nothing and authorises no transaction.',
    '',
    `URI: ${origin}`,
    'Version: 1',
    `Nonce: ${nonce}`,
    `Issued At: ${issuedAt}`,
    `Expiration Time: ${expiresAt}`,
  ].join('\n');
}

/**
 * Wallet sign-in: a single-use challenge kept in Redis with an expiry, signed by the wallet (ADR-036, as Keplr's
 * signArbitrary does), verified, and exchanged for a short-lived JWT whose subject is the address.
 */
@Injectable()
export class AuthService {
  private readonly tokens: WalletTokens;
  private readonly outcomes = metric.counter({ name: 'gateway_sign_ins_total', help: 'sign-in attempts by outcome', labelNames: ['outcome'] });

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(GATEWAY_ENV) private readonly env: AppEnv,
  ) {
    this.tokens = new WalletTokens(env.GATEWAY_SECRET);
  }

  /**
   * The site a sign-in is for: the browser's Origin when it is one of the site's (AUTH_SITE_ORIGIN, a CORS origin,
   * or the gateway itself: the dashboard it serves, whatever host name it was opened by), AUTH_SITE_ORIGIN when the
   * caller sent none (a script, a CLI). Another site's page is refused: its visitors must not be asked to sign in
   * to Unstuck there.
   */
  private siteFor(origin: string | undefined, host: string | undefined): string {
    if (origin === undefined) return this.env.AUTH_SITE_ORIGIN;
    if (this.isOurs(origin) || sameOrigin(origin, host)) return origin;
    this.outcomes.inc({ outcome: 'foreign_origin' });
    throw new ApiError(
      403,
      'origin_not_allowed',
      `sign-in is offered on ${this.env.AUTH_SITE_ORIGIN} only, not on ${JSON.stringify(origin.slice(0, 200))}; sign in there`,
    );
  }

  private isOurs(origin: string): boolean {
    return origin === this.env.AUTH_SITE_ORIGIN || this.env.CORS_ORIGINS.includes(origin);
  }

  async challenge(address: string, origin?: string, host?: string): Promise<Challenge> {
    const site = this.siteFor(origin, host);
    const ttlMs = this.env.AUTH_CHALLENGE_TTL_SECONDS * 1000;
    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + ttlMs);
    // The expiry is part of the nonce, so a nonce Redis no longer holds can be told apart: expired or used.
    const nonce = `${expiresAt.getTime().toString(36)}-${randomBytes(16).toString('hex')}`;
    const message = challengeMessage(site, address, nonce, issuedAt.toISOString(), expiresAt.toISOString());
    try {
      await this.redis.set(NONCE_PREFIX + nonce, JSON.stringify({ address, message, site }), 'PX', ttlMs);
    } catch {
      throw ApiError.unavailable('sign_in_unavailable', 'sign-in is unavailable right now (its store cannot be reached); try again shortly', 5);
    }
    return { address, nonce, message, expires_at: expiresAt.toISOString() };
  }

  async verify(
    address: string,
    nonce: string,
    signature: StdSignatureInput,
    origin?: string,
    host?: string,
  ): Promise<{ token: string; token_type: 'Bearer'; address: string; expires_at: string }> {
    const { prefix } = parseWallet(address);
    const site = this.siteFor(origin, host);
    let stored: string | null;
    try {
      // GETDEL: the nonce is spent by the first attempt, whatever its outcome, so a signature can never be replayed.
      stored = (await this.redis.call('GETDEL', NONCE_PREFIX + nonce)) as string | null;
    } catch {
      throw ApiError.unavailable('sign_in_unavailable', 'sign-in is unavailable right now (its store cannot be reached); try again shortly', 5);
    }
    if (!stored) {
      const expiry = parseInt(nonce.split('-')[0] ?? '', 36);
      const expired = Number.isFinite(expiry) && expiry <= Date.now();
      this.outcomes.inc({ outcome: expired ? 'expired' : 'unknown_nonce' });
      throw expired
        ? ApiError.unauthorized('challenge_expired', 'the sign-in challenge has expired; request a new one')
        : ApiError.unauthorized('challenge_invalid', 'the sign-in challenge is unknown or was already used; request a new one');
    }
    const challenge = JSON.parse(stored) as { address: string; message: string; site?: string };
    if (challenge.address !== address) {
      this.outcomes.inc({ outcome: 'address_mismatch' });
      throw ApiError.unauthorized('challenge_mismatch', 'the challenge was issued to another address');
    }
    // The signed text names the site it was issued for: a browser redeems it from that site only (a caller that
    // sends no Origin, a script, is not a page that could be another site's).
    const issuedFor = challenge.site ?? this.env.AUTH_SITE_ORIGIN;
    if (origin !== undefined && site !== issuedFor) {
      this.outcomes.inc({ outcome: 'origin_mismatch' });
      throw ApiError.unauthorized('challenge_mismatch', `the challenge was issued for ${issuedFor}, and this sign-in comes from ${site}; request a new challenge there`);
    }
    const failure = await verifyAdr036(address, prefix, challenge.message, signature);
    if (failure) {
      this.outcomes.inc({ outcome: failure });
      const messages: Record<typeof failure, string> = {
        unsupported_key: 'only secp256k1 keys (tendermint/PubKeySecp256k1) can sign in',
        malformed_signature: 'the signature or public key is not valid base64 of the right length',
        bad_signature: 'the signature does not match the challenge message and public key',
        signer_mismatch: 'the public key does not belong to this address',
      };
      throw ApiError.unauthorized(failure === 'signer_mismatch' ? 'wrong_signer' : 'invalid_signature', messages[failure]);
    }
    const expiresAt = new Date(Date.now() + this.env.AUTH_TOKEN_TTL_SECONDS * 1000);
    const token = await this.tokens.issue(address, expiresAt);
    this.outcomes.inc({ outcome: 'ok' });
    return { token, token_type: 'Bearer', address, expires_at: expiresAt.toISOString() };
  }

  /** The wallet a bearer token was issued to, or why it is refused. */
  walletOf(token: string): Promise<{ wallet: string } | { error: string }> {
    return this.tokens.verify(token);
  }
}

/** A browser request from a page the gateway itself served: its Origin's host is the Host it asked. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
