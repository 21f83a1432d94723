import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ERROR_RESPONSES, ErrorSchema } from '../http/openapi-common';
import { ApiJsonBody, plain, Schema } from '../http/validation';
import { walletParam } from '../http/wallet';
import { AuthService } from './auth.service';

const Address = Type.String({ minLength: 1, maxLength: 128, description: 'bech32 wallet address' });
const Base64 = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9+/]+={0,2}$' });

export const ChallengeBody = Type.Object({ address: Address }, { additionalProperties: false });
export const VerifyBody = Type.Object(
  {
    address: Address,
    nonce: Type.String({ minLength: 1, maxLength: 128, description: 'nonce from POST /auth/challenge' }),
    signature: Type.Object(
      {
        pub_key: Type.Object({ type: Type.String({ maxLength: 64 }), value: Base64 }, { additionalProperties: false }),
        signature: Base64,
      },
      { additionalProperties: false, description: "Keplr signArbitrary's result (ADR-036 StdSignature)" },
    ),
  },
  { additionalProperties: false },
);

@ApiTags('auth')
@Controller('auth')
@ERROR_RESPONSES
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Post('challenge')
  @HttpCode(200)
  @ApiOperation({ summary: 'A single-use sign-in challenge naming the site (domain and origin, as Sign-In with Ethereum): sign its `message` with signArbitrary (ADR-036)' })
  @ApiResponse({ status: 403, description: 'asked from another site’s page (its Origin is not one of this site’s)', schema: plain(ErrorSchema) })
  @ApiJsonBody(ChallengeBody)
  @ApiOkResponse({
    schema: plain(Type.Object({ address: Type.String(), nonce: Type.String(), message: Type.String(), expires_at: Type.String({ format: 'date-time' }) })),
  })
  challenge(@Body(new Schema(ChallengeBody, 'body')) body: typeof ChallengeBody.static, @Req() req: FastifyRequest) {
    return this.auth.challenge(walletParam(body.address, 'address'), req.headers.origin, req.headers.host);
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange a signed challenge for a short-lived bearer token (JWT)' })
  @ApiJsonBody(VerifyBody)
  @ApiOkResponse({
    schema: plain(Type.Object({ token: Type.String(), token_type: Type.Literal('Bearer'), address: Type.String(), expires_at: Type.String({ format: 'date-time' }) })),
  })
  @ApiResponse({ status: 401, description: 'expired, used or unknown challenge; wrong signer; invalid signature', schema: plain(ErrorSchema) })
  verify(@Body(new Schema(VerifyBody, 'body')) body: typeof VerifyBody.static, @Req() req: FastifyRequest) {
    return this.auth.verify(walletParam(body.address, 'address'), body.nonce, body.signature, req.headers.origin, req.headers.host);
  }
}
