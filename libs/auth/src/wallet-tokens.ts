import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';

/** The development default; services refuse it when NODE_ENV=production so a deployment cannot run with a known key. */
export const DEV_SECRET = 'unstuck-development-secret-change-me';

/** Shared by every service that issues or checks sign-in tokens (the gateway issues, the notifier checks). */
export const authEnvShape = {
  /** Signs sign-in tokens (JWT, HS256) and pagination cursors; every replica of every service needs the same value. */
  GATEWAY_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_SECRET),
};

/** Refuses to run in production with the development secret: anyone could mint sign-in tokens. */
export function assertProductionSecret(env: { NODE_ENV: string; GATEWAY_SECRET: string }): void {
  if (env.NODE_ENV === 'production' && env.GATEWAY_SECRET === DEV_SECRET) {
    throw new Error('GATEWAY_SECRET is the development default; set a secret of your own (32+ characters, the same on the gateway and the notifier) in production');
  }
}

/** The development default of the secret the gateway proves itself to the clearing service with. */
export const DEV_INTERNAL_SECRET = 'unstuck-development-internal-secret-change-me';

/**
 * Services calling each other's internal APIs (the gateway → clearing-service) prove it with a secret of its own:
 * never GATEWAY_SECRET, which signs sign-in tokens and must never travel in a request.
 */
export const internalEnvShape = {
  INTERNAL_SERVICE_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_INTERNAL_SECRET),
};

/** Refuses, in production, the development internal secret, and one equal to GATEWAY_SECRET (it would travel). */
export function assertProductionInternalSecret(env: { NODE_ENV: string; INTERNAL_SERVICE_SECRET: string; GATEWAY_SECRET?: string }): void {
  if (env.NODE_ENV !== 'production') return;
  if (env.INTERNAL_SERVICE_SECRET === DEV_INTERNAL_SECRET) {
    throw new Error('INTERNAL_SERVICE_SECRET is the development default; set a secret of your own (32+ characters, the same on the gateway and clearing-service) in production');
  }
  if (env.GATEWAY_SECRET !== undefined && env.INTERNAL_SERVICE_SECRET === env.GATEWAY_SECRET) {
    throw new Error('INTERNAL_SERVICE_SECRET must differ from GATEWAY_SECRET: it travels between services, GATEWAY_SECRET signs sign-in tokens and must not');
  }
}

const ISSUER = 'unstuck';
const AUDIENCE = 'unstuck-api';

/**
 * Short-lived bearer tokens naming a wallet that proved control of its key (ADR-036 sign-in): HS256 JWTs with the
 * address as subject.
 */
export class WalletTokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  issue(address: string, expiresAt: Date): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(address)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.key);
  }

  /** The wallet a token was issued to, or why it is refused (in words for the caller). */
  async verify(token: string): Promise<{ wallet: string } | { error: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      return typeof payload.sub === 'string' ? { wallet: payload.sub } : { error: 'the token names no wallet' };
    } catch (e) {
      return { error: (e as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'the token has expired; sign in again' : 'the token is not valid' };
    }
  }
}
