import { Controller, Get, Inject, Injectable, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import { CallerWallet, WalletAuthGuard } from '../auth/auth.guard';
import { GatewayDb } from '../data/gateway-db';
import { ApiError } from '../http/errors';
import { ERROR_RESPONSES, ErrorSchema } from '../http/openapi-common';
import { pageInfo } from '../http/pagination';
import { ApiParams, plain, Schema } from '../http/validation';
import { walletParam } from '../http/wallet';

/** Sortable columns: the allowlist is the only way a name reaches SQL. */
const SORT_COLUMNS = { created_at: 'created_at', updated_at: 'updated_at', total_fee: 'total_fee', packet_count: 'packet_count', status: 'status' } as const;

export const OperationsQuerySchema = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1, description: 'page number, from 1' }),
    page_size: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'items per page, 1–100' }),
    sort_by: Type.Union(
      Object.keys(SORT_COLUMNS).map((k) => Type.Literal(k)),
      { default: 'created_at', description: `one of ${Object.keys(SORT_COLUMNS).join(', ')}` },
    ),
    sort_dir: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc', description: 'asc or desc' }),
    status: Type.Optional(
      Type.Union(['quoted', 'paid', 'clearing', 'completed', 'failed', 'refunded', 'expired'].map((s) => Type.Literal(s)), { description: 'only operations in this state' }),
    ),
  },
  { additionalProperties: false },
);
export const WalletPathSchema = Type.Object({ wallet: Type.String({ minLength: 1, maxLength: 128, description: 'bech32 wallet address' }) }, { additionalProperties: false });

@Injectable()
export class OperationsService {
  constructor(@Inject(GatewayDb) private readonly db: GatewayDb) {}

  async list(wallet: string, q: typeof OperationsQuerySchema.static) {
    const preference = await this.db.preferenceFor(wallet);
    const params: unknown[] = [wallet];
    let filter = '';
    if (q.status) {
      params.push(q.status);
      filter = ` AND status = $${params.length}`;
    }
    const [{ total }] = (await this.db.query<{ total: string }>(
      `SELECT count(*)::text AS total FROM clearing_operations WHERE wallet_address = $1 AND deleted_at IS NULL${filter}`,
      params,
      preference,
    )) as [{ total: string }];
    const page = pageInfo(q.page, q.page_size, Number(total));
    const column = SORT_COLUMNS[q.sort_by as keyof typeof SORT_COLUMNS];
    const dir = q.sort_dir === 'asc' ? 'ASC' : 'DESC';
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT id, chain_id, status, packet_count, packets_cleared, fee_denom, total_fee::text AS total_fee, payment_tx_hash, clearing_tx_hash,
              success, error, created_at, updated_at, completed_at
         FROM clearing_operations WHERE wallet_address = $1 AND deleted_at IS NULL${filter}
        ORDER BY ${column} ${dir}, id ${dir} LIMIT ${q.page_size} OFFSET ${(q.page - 1) * q.page_size}`,
      params,
      preference,
    );
    return { items: rows, ...page };
  }
}

@ApiTags('operations')
@Controller('users')
@ERROR_RESPONSES
export class OperationsController {
  constructor(@Inject(OperationsService) private readonly operations: OperationsService) {}

  @Get(':wallet/operations')
  @UseGuards(WalletAuthGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: "The signed-in wallet's clearing operations, paginated by page number" })
  @ApiParams(WalletPathSchema, 'path')
  @ApiParams(OperationsQuerySchema, 'query')
  @ApiResponse({ status: 401, description: 'not signed in', schema: plain(ErrorSchema) })
  @ApiResponse({ status: 403, description: 'another wallet’s operations', schema: plain(ErrorSchema) })
  list(
    @Param(new Schema(WalletPathSchema, 'path')) p: typeof WalletPathSchema.static,
    @Query(new Schema(OperationsQuerySchema, 'query')) q: typeof OperationsQuerySchema.static,
    @CallerWallet() caller: string,
  ) {
    const wallet = walletParam(p.wallet, 'wallet');
    if (wallet !== caller) throw ApiError.forbidden('a wallet can list only its own operations');
    return this.operations.list(wallet, q);
  }
}
