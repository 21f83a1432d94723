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

/** The text a wallet signs; it names the address, the nonce and when the challenge expires. */
export function challengeMessage(address: string, nonce: string, expiresAt: string): string {
  return `Sign in to Unstuck\n\nAddress: ${address}\nNonce: ${nonce}\nExpires: ${expiresAt}\n\nThis signature costs nothing and authorises no transaction.`;
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

  async challenge(address: string): Promise<Challenge> {
    const ttlMs = this.env.AUTH_CHALLENGE_TTL_SECONDS * 1000;
    const expiresAt = new Date(Date.now() + ttlMs);
    // The expiry is part of the nonce, so a nonce Redis no longer holds can be told apart: expired or used.
    const nonce = `${expiresAt.getTime().toString(36)}-${randomBytes(16).toString('hex')}`;
    const message = challengeMessage(address, nonce, expiresAt.toISOString());
    try {
      await this.redis.set(NONCE_PREFIX + nonce, JSON.stringify({ address, message }), 'PX', ttlMs);
    } catch {
      throw ApiError.unavailable('sign_in_unavailable', 'sign-in is unavailable right now (its store cannot be reached); try again shortly', 5);
    }
    return { address, nonce, message, expires_at: expiresAt.toISOString() };
  }

  async verify(address: string, nonce: string, signature: StdSignatureInput): Promise<{ token: string; token_type: 'Bearer'; address: string; expires_at: string }> {
    const { prefix } = parseWallet(address);
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
    const challenge = JSON.parse(stored) as { address: string; message: string };
    if (challenge.address !== address) {
      this.outcomes.inc({ outcome: 'address_mismatch' });
      throw ApiError.unauthorized('challenge_mismatch', 'the challenge was issued to another address');
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
