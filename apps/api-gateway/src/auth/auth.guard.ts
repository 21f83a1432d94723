import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/errors';

/** What the sign-in hook found on a request: the caller's wallet, or why its token was refused. */
export type RequestAuth = { wallet: string } | { error: string };

declare module 'fastify' {
  interface FastifyRequest {
    auth?: RequestAuth;
  }
}

/** Endpoints scoped to a wallet: a valid bearer token from POST /auth/verify is required. */
@Injectable()
export class WalletAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const auth = context.switchToHttp().getRequest<FastifyRequest>().auth;
    if (!auth) throw ApiError.unauthorized('authentication_required', 'sign in first: send "Authorization: Bearer <token>" from POST /api/v1/auth/verify');
    if ('error' in auth) throw ApiError.unauthorized('invalid_token', auth.error);
    return true;
  }
}

/** The signed-in caller's wallet (use behind WalletAuthGuard). */
export const CallerWallet = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const auth = context.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth || 'error' in auth) throw ApiError.unauthorized('authentication_required', 'sign in first');
  return auth.wallet;
});
