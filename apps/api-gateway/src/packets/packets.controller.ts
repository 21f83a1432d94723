import { createHash } from 'node:crypto';
import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ChainId, ChannelId, PacketSequence, PortId, StuckKind } from '@unstuck/contracts';
import { EncodedBody, negotiateBody } from '../http/encoded-body';
import { ApiError } from '../http/errors';
import { ERROR_RESPONSES } from '../http/openapi-common';
import { ApiParams, parseWith, plain, Schema } from '../http/validation';
import { walletParam } from '../http/wallet';
import { PacketDetail, PacketSummary, StuckPacket } from './packet-views';
import { PacketsService } from './packets.service';

const Limit = (max: number, dflt: number) => Type.Integer({ minimum: 1, maximum: max, default: dflt, description: `items per page, 1–${max}` });
const Cursor = Type.String({ minLength: 1, maxLength: 2048, description: 'next_cursor of the previous page' });

export const StuckQuerySchema = Type.Object(
  {
    wallet: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'bech32 address; packets it sent or receives. Without it: every stuck packet, network-wide, oldest stuck first' })),
    chain_id: Type.Optional(ChainId),
    channel: Type.Optional(Type.String({ pattern: '^channel-[0-9]{1,19}$', maxLength: 27, description: 'source channel (network-wide list only)' })),
    kind: Type.Optional(StuckKind),
    min_age_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 * 365 * 86_400, description: 'only packets sent at least this long ago' })),
    limit: Limit(500, 100),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const StreamQuerySchema = Type.Object(
  {
    wallet: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'bech32 address; its packets as sender or receiver' })),
    chain_id: Type.Optional(ChainId),
    limit: Limit(200, 50),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const PacketPathSchema = Type.Object({ chain_id: ChainId, channel: ChannelId, sequence: PacketSequence }, { additionalProperties: false });
export const PacketDetailQuerySchema = Type.Object(
  { port: Type.Optional(Type.String({ minLength: 2, maxLength: 128, pattern: PortId.pattern, default: 'transfer', description: 'source port; transfer unless given' })) },
  { additionalProperties: false },
);

const listingOf = (item: Parameters<typeof Type.Array>[0]) =>
  Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]), snapshot_at: Type.String({ format: 'date-time' }) });

@ApiTags('packets')
@Controller('packets')
@ERROR_RESPONSES
export class PacketsController {
  constructor(@Inject(PacketsService) private readonly packets: PacketsService) {}

  @Get('stuck')
  @ApiOperation({
    summary: "A wallet's stuck packets, oldest first; without a wallet, every stuck packet network-wide (oldest stuck first, by chain, channel, kind and age)",
    description:
      'With a wallet: cached; a packet leaves the list as soon as its acknowledgement, timeout or resolution is processed (items carry role, age_seconds, seconds_to_timeout). Without: for operators and relayers, from the replica (items carry age_seconds).',
  })
  @ApiParams(StuckQuerySchema, 'query')
  @ApiOkResponse({ schema: plain(listingOf(StuckPacket)) })
  stuck(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Buffer | Promise<Buffer> {
    // main.ts serves this route with stuckLookup directly (serveDirectly): the hottest lookup skips Nest's pipeline.
    return stuckLookup(this.packets, request, reply);
  }

  @Get('stream')
  @ApiOperation({
    summary: 'Packets newest first, optionally one wallet’s',
    description:
      'Keyset pagination: pass next_cursor to get the next page. The cursor carries the snapshot time of the first page, so pages do not shift while new packets arrive. Responses carry an ETag; If-None-Match answers 304.',
  })
  @ApiParams(StreamQuerySchema, 'query')
  @ApiOkResponse({ schema: plain(listingOf(PacketSummary)) })
  @ApiResponse({ status: 304, description: 'the page is unchanged since the ETag given in If-None-Match' })
  async stream(@Query(new Schema(StreamQuerySchema, 'query')) q: typeof StreamQuerySchema.static, @Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const wallet = q.wallet === undefined ? undefined : walletParam(q.wallet, 'wallet');
    const page = await this.packets.stream({ ...q, wallet });
    return withEtag(req, reply, page);
  }

  @Get(':chain_id/:channel/:sequence')
  @ApiOperation({ summary: 'One packet’s lifecycle: send, receive, acknowledgement or timeout, with tx hashes and every relayer that tried' })
  @ApiParams(PacketPathSchema, 'path')
  @ApiParams(PacketDetailQuerySchema, 'query')
  @ApiOkResponse({ schema: plain(PacketDetail) })
  detail(@Param(new Schema(PacketPathSchema, 'path')) p: typeof PacketPathSchema.static, @Query(new Schema(PacketDetailQuerySchema, 'query')) q: typeof PacketDetailQuerySchema.static) {
    return this.packets.detail(p.chain_id, q.port ?? 'transfer', p.channel, p.sequence);
  }
}

/**
 * A wallet's stuck packets: the query checked, the wallet normalised, the page as JSON bytes, compressed when the
 * client accepts it (a hot wallet's page is encoded and compressed once per second, not per request). Synchronous
 * when the answer needs no I/O (most lookups: see PacketsService.stuckJson); a bad query throws (a 400).
 */
export function stuckLookup(packets: PacketsService, request: FastifyRequest, reply: FastifyReply): Buffer | Promise<Buffer> {
  const q = parseWith(StuckQuerySchema, request.query, 'query');
  if (q.wallet === undefined) {
    void reply.type('application/json; charset=utf-8');
    return packets.networkStuck(q).then((page) => negotiateBody(request, reply, new EncodedBody(JSON.stringify(page))));
  }
  if (q.channel !== undefined) throw ApiError.badRequest('invalid_query_parameter', 'query parameter "channel" filters the network-wide list only (without wallet)', { parameter: 'channel' });
  const wallet = walletParam(q.wallet, 'wallet');
  void reply.type('application/json; charset=utf-8');
  const body = packets.stuckJson({ ...q, wallet });
  return body instanceof EncodedBody ? negotiateBody(request, reply, body) : body.then((b) => negotiateBody(request, reply, b));
}

/**
 * Conditional GET: a weak ETag over the page's items; a matching If-None-Match gets a 304 with no body (the
 * client's copy, with its own cursor and snapshot, is still a true page). Listings are private to the caller (a
 * wallet's) and may be reused for a minute.
 */
export function withEtag<T extends { items: unknown[] }>(req: FastifyRequest, reply: FastifyReply, body: T): T | undefined {
  const etag = `W/"${createHash('sha1').update(JSON.stringify(body.items)).digest('base64url')}"`;
  void reply.header('etag', etag).header('cache-control', 'private, max-age=60');
  const match = req.headers['if-none-match'];
  if (match && match.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    void reply.status(304);
    return undefined;
  }
  return body;
}
