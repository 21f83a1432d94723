import { Body, Controller, Get, HttpCode, Inject, Injectable, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import { ChainId, PacketSequence, PortId, QUOTE_MAX_PACKETS } from '@unstuck/contracts';
import { ClearingStore, hashToken, isTokenShaped, type OperationView } from '@unstuck/clearing';
import { Database } from '@unstuck/db';
import { createBreaker } from '@unstuck/resilience';
import { CallerWallet, WalletAuthGuard } from '../auth/auth.guard';
import { GatewayDb } from '../data/gateway-db';
import { ApiError } from '../http/errors';
import { ERROR_RESPONSES, ErrorSchema } from '../http/openapi-common';
import { ApiJsonBody, ApiParams, plain, Schema } from '../http/validation';
import { walletParam } from '../http/wallet';
import { WalletPathSchema } from '../operations/operations.controller';
import { GATEWAY_ENV } from '../tokens';
import type { AppEnv } from '../env';

const PacketIdSchema = Type.Object(
  {
    src_chain_id: ChainId,
    src_port: PortId,
    src_channel: Type.String({ pattern: '^channel-[0-9]{1,19}$', maxLength: 27 }),
    sequence: PacketSequence,
  },
  { additionalProperties: false },
);
export const QuoteBody = Type.Object(
  { packets: Type.Array(PacketIdSchema, { minItems: 1, maxItems: QUOTE_MAX_PACKETS, description: `stuck packets of the signed-in wallet, 1–${QUOTE_MAX_PACKETS}` }) },
  { additionalProperties: false },
);
export const VerifyPaymentBody = Type.Object(
  {
    token: Type.String({ minLength: 43, maxLength: 43, description: 'the one-time token from the quote' }),
    tx_hash: Type.String({ pattern: '^(0x)?[0-9A-Fa-f]{64}$', description: 'hash of the payment transaction' }),
  },
  { additionalProperties: false },
);
const TokenPath = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128, description: 'the one-time token from the quote' }) }, { additionalProperties: false });

/**
 * The clearing service's internal API behind a breaker: the gateway signs the caller in and passes the wallet on;
 * the service's 4xx answers reach the caller unchanged; when it is down, callers get a 503 with Retry-After.
 */
/** clearing-service's 503 codes that name a chain it could not read (its own failures have other codes or none). */
const CHAIN_OUTAGES = new Set(['chain_state_unavailable', 'chain_unavailable', 'payment_chain_unavailable']);

@Injectable()
export class ClearingClient {
  private readonly fire: (path: string, body: unknown) => Promise<{ status: number; body: unknown }>;

  constructor(@Inject(GATEWAY_ENV) env: AppEnv) {
    this.fire = createBreaker(
      'clearing-service',
      async (path: string, body: unknown) => {
        const res = await fetch(`${env.CLEARING_URL}/internal/v1/clearing/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-internal-secret': env.INTERNAL_SERVICE_SECRET },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(env.CLEARING_TIMEOUT_MS),
        });
        const answer = { status: res.status, body: await res.json().catch(() => null) };
        // A chain node that cannot be read is the chain's outage, not clearing-service's: passed on, never counted
        // by the breaker (else one chain's node down would switch clearing off for every chain).
        if (res.status === 503 && CHAIN_OUTAGES.has((answer.body as { error?: { code?: string } } | null)?.error?.code ?? '')) return answer;
        if (res.status >= 500) throw Object.assign(new Error(`clearing service answered ${res.status}`), { answer });
        return answer;
      },
      { timeoutMs: false, resetTimeoutMs: 5_000, volumeThreshold: 3 },
    ).fire;
  }

  async call(path: 'quote' | 'verify-payment', body: unknown): Promise<unknown> {
    let answer: { status: number; body: unknown };
    try {
      answer = await this.fire(path, body);
    } catch (e) {
      const inner = (e as { answer?: { status: number; body: { error?: { code?: string; message?: string } } } }).answer;
      if (inner?.status === 503 && inner.body?.error?.code) throw ApiError.unavailable(inner.body.error.code, inner.body.error.message ?? 'unavailable', 5);
      throw ApiError.unavailable('clearing_unavailable', 'clearing is unavailable right now; nothing was charged — try again shortly', 5);
    }
    if (answer.status === 503) {
      const err = (answer.body as { error: { code: string; message?: string } }).error;
      throw ApiError.unavailable(err.code, err.message ?? 'unavailable', 5);
    }
    if (answer.status >= 400) {
      const err = (answer.body as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(answer.status, err?.code ?? 'clearing_refused', err?.message ?? `clearing answered ${answer.status}`);
    }
    return answer.body;
  }
}

@Injectable()
export class ClearingReads {
  readonly store: ClearingStore;
  constructor(@Inject(Database) db: Database) {
    this.store = new ClearingStore(db);
  }
}

@ApiTags('clearing')
@Controller()
@ERROR_RESPONSES
export class ClearingController {
  constructor(
    @Inject(ClearingClient) private readonly client: ClearingClient,
    @Inject(ClearingReads) private readonly reads: ClearingReads,
    @Inject(GatewayDb) private readonly db: GatewayDb,
  ) {}

  @Post('clearing/quote')
  @UseGuards(WalletAuthGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Quote clearing some of the signed-in wallet’s stuck packets: the fee, a one-time token (5 min) and payment instructions' })
  @ApiJsonBody(QuoteBody)
  @ApiResponse({ status: 201, description: 'the quote; pay `payment.amount` `payment.denom` to `payment.address` with memo `payment.memo`' })
  @ApiResponse({ status: 409, description: 'a packet is already being cleared', schema: plain(ErrorSchema) })
  async quote(@Body(new Schema(QuoteBody, 'body')) body: typeof QuoteBody.static, @CallerWallet() wallet: string) {
    const answer = await this.client.call('quote', { wallet, packets: body.packets });
    await this.db.markWritten([wallet]);
    return answer;
  }

  @Post('clearing/verify-payment')
  @HttpCode(200)
  @UseGuards(WalletAuthGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Verify the payment of a quote by its transaction hash (idempotent); the operation starts clearing' })
  @ApiJsonBody(VerifyPaymentBody)
  @ApiResponse({ status: 200, description: 'the operation, paid' })
  @ApiResponse({ status: 409, description: 'the transaction already paid another operation, or this one is paid already', schema: plain(ErrorSchema) })
  @ApiResponse({ status: 410, description: 'paid after the quote expired', schema: plain(ErrorSchema) })
  async verify(@Body(new Schema(VerifyPaymentBody, 'body')) body: typeof VerifyPaymentBody.static, @CallerWallet() wallet: string) {
    const answer = await this.client.call('verify-payment', { wallet, token: body.token, tx_hash: body.tx_hash.replace(/^0x/i, '') });
    await this.db.markWritten([wallet]);
    return answer;
  }

  @Get('clearing/:token')
  @UseGuards(WalletAuthGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'A clearing operation by its token: state, progress, per-packet state, tx hashes, refunds (owner only)' })
  @ApiParams(TokenPath, 'path')
  async status(@Param(new Schema(TokenPath, 'path')) p: typeof TokenPath.static, @CallerWallet() wallet: string): Promise<OperationView> {
    if (!isTokenShaped(p.token)) throw ApiError.badRequest('invalid_token', 'the clearing token is the 43-character value returned by the quote');
    // From the primary: a status page polled right after paying must not read a lagging replica.
    const id = await this.reads.store.operationIdByTokenHash(hashToken(p.token));
    const view = id ? await this.reads.store.view(id, 'primary') : undefined;
    // Another wallet's operation answers like none: a token is not a way to probe for others'.
    if (!view || view.wallet !== wallet) throw ApiError.notFound('no clearing operation has this token');
    return view;
  }

  @Get('users/:wallet/statistics')
  @ApiOperation({ summary: 'A wallet’s clearing statistics (operations, packets cleared, fees), from the user-statistics view' })
  @ApiParams(WalletPathSchema, 'path')
  async statistics(@Param(new Schema(WalletPathSchema, 'path')) p: typeof WalletPathSchema.static) {
    const wallet = walletParam(p.wallet, 'wallet');
    return (
      (await this.reads.store.userStatistics(wallet)) ?? {
        wallet,
        total_operations: 0,
        completed_operations: 0,
        failed_operations: 0,
        packets_cleared: '0',
        fees_paid: '0',
        first_operation_at: null,
        last_operation_at: null,
      }
    );
  }
}
