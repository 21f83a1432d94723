import { Body, Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { isUint64 } from '@unstuck/contracts';
import { isDataException } from '@unstuck/db';
import { ClearingService, ClearingError } from './clearing.service';
import { CLEARING_ENV } from './tokens';
import type { AppEnv } from './env';

const PACKET = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The clearing service's own API, called by the gateway only (it has signed the caller in): INTERNAL_SERVICE_SECRET
 * in `x-internal-secret` (never GATEWAY_SECRET, which signs sign-in tokens), the caller's wallet in the body. Answers `{"error": {"code", "message"}}` like the gateway,
 * which passes 4xx answers through unchanged.
 */
@Controller('internal/v1/clearing')
export class InternalController {
  constructor(
    @Inject(ClearingService) private readonly clearing: ClearingService,
    @Inject(CLEARING_ENV) private readonly env: AppEnv,
  ) {}

  @Post('quote')
  quote(@Req() req: FastifyRequest, @Res() res: FastifyReply, @Body() body: unknown): Promise<void> {
    return this.answer(req, res, 201, async () => {
      const b = object(body);
      const packets = b.packets;
      if (!Array.isArray(packets)) throw new ClearingError(400, 'invalid_packets', 'packets must be a list of {src_chain_id, src_port, src_channel, sequence}');
      return this.clearing.quote(
        str(b, 'wallet'),
        packets.map((p, i) => {
          const o = object(p);
          const id = { src_chain_id: str(o, 'src_chain_id'), src_port: str(o, 'src_port'), src_channel: str(o, 'src_channel'), sequence: String(o.sequence ?? '') };
          if (!PACKET.test(id.src_chain_id) || !/^[A-Za-z0-9._+\-#[\]<>]{2,128}$/.test(id.src_port) || !/^channel-[0-9]{1,19}$/.test(id.src_channel) || !/^[1-9][0-9]{0,19}$/.test(id.sequence) || !isUint64(id.sequence)) {
            throw new ClearingError(400, 'invalid_packet', `packets[${i}] is not a packet identity (chain id, port, channel-N, sequence ≥ 1)`);
          }
          return id;
        }),
      );
    });
  }

  @Post('verify-payment')
  verify(@Req() req: FastifyRequest, @Res() res: FastifyReply, @Body() body: unknown): Promise<void> {
    return this.answer(req, res, 200, () => {
      const b = object(body);
      return this.clearing.verifyPayment(str(b, 'token'), str(b, 'tx_hash'), { by: 'user', wallet: str(b, 'wallet') });
    });
  }

  @Get('health')
  health(): { ok: true } {
    return { ok: true };
  }

  private async answer(req: FastifyRequest, res: FastifyReply, status: number, work: () => Promise<unknown>): Promise<void> {
    const given = Buffer.from(String(req.headers['x-internal-secret'] ?? ''));
    const secret = Buffer.from(this.env.INTERNAL_SERVICE_SECRET);
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) {
      await res.status(401).send({ error: { code: 'unauthorized', message: 'internal API: missing or wrong x-internal-secret' } });
      return;
    }
    try {
      await res.status(status).send(await work());
    } catch (caught) {
      // A value PostgreSQL refused is the caller's input (validation should have caught it): a 400, so that the
      // gateway's breaker never counts bad input as clearing-service failing.
      const e = isDataException(caught) ? new ClearingError(400, 'invalid_input', 'a value in the request is outside what Unstuck stores') : caught;
      if (!(e instanceof ClearingError)) throw e;
      if (e.status === 503) void res.header('retry-after', '5');
      await res.status(e.status).send({ error: { code: e.code, message: e.message } });
    }
  }
}

function object(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ClearingError(400, 'invalid_body', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new ClearingError(400, `invalid_${key}`, `${key} must be a non-empty string`);
  return v;
}
