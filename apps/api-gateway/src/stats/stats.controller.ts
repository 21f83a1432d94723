import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from '@sinclair/typebox';
import { ChainId, ChannelId } from '@unstuck/contracts';
import { ERROR_RESPONSES } from '../http/openapi-common';
import { ApiParams, Schema } from '../http/validation';
import { StatsService } from './stats.service';

const Time = (what: string) => Type.String({ format: 'input-time', maxLength: 40, description: what });

export const RangeQuerySchema = Type.Object(
  {
    from: Type.Optional(Time('start of the range; default 7 days before `to`')),
    to: Type.Optional(Time('end of the range; default now')),
    chain_id: Type.Optional(ChainId),
  },
  { additionalProperties: false },
);
export const RankedRangeQuerySchema = Type.Object(
  { ...RangeQuerySchema.properties, limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'rows, 1–500' }) },
  { additionalProperties: false },
);
export const ChannelPathSchema = Type.Object({ chain_id: ChainId, channel: ChannelId }, { additionalProperties: false });
export const CongestionQuerySchema = Type.Object(
  { chain_id: Type.Optional(ChainId), limit: Type.Integer({ minimum: 1, maximum: 500, default: 20, description: 'rows, 1–500' }) },
  { additionalProperties: false },
);

@ApiTags('stats')
@Controller()
@ERROR_RESPONSES
export class StatsController {
  constructor(@Inject(StatsService) private readonly stats: StatsService) {}

  @Get('stats/platform')
  @ApiOperation({ summary: 'Platform totals: packets tracked, stuck now by kind, clearing operations, packets cleared, fees, success rate' })
  platform() {
    return this.stats.platform();
  }

  @Get('stats/networks')
  @ApiOperation({ summary: 'Per chain over whole UTC days: packets sent, received, acknowledged, timed out; success rate; relay time avg and p95' })
  @ApiParams(RangeQuerySchema, 'query')
  networks(@Query(new Schema(RangeQuerySchema, 'query')) q: typeof RangeQuerySchema.static) {
    return this.stats.networks(q);
  }

  @Get('stats/channels')
  @ApiOperation({ summary: 'Per channel over whole hours: counts, success rate, clear time, and the latest backlog, stuck count and congestion score' })
  @ApiParams(RankedRangeQuerySchema, 'query')
  channels(@Query(new Schema(RankedRangeQuerySchema, 'query')) q: typeof RankedRangeQuerySchema.static) {
    return this.stats.channels(q);
  }

  @Get('stats/relayers')
  @ApiOperation({ summary: 'Relayer leaderboard: packets relayed, won, lost to a frontrun and to whom, latency, reputation' })
  @ApiParams(RankedRangeQuerySchema, 'query')
  relayers(@Query(new Schema(RankedRangeQuerySchema, 'query')) q: typeof RankedRangeQuerySchema.static) {
    return this.stats.relayers(q);
  }

  @Get('channels/:chain_id/:channel/pending')
  @ApiOperation({
    summary: "A channel as its chains show it (the reconciler's last pass): state, ordering, both clients' status, packets pending on the source, unreceived (the first 100 listed) and unacknowledged",
  })
  @ApiParams(ChannelPathSchema, 'path')
  pending(@Param(new Schema(ChannelPathSchema, 'path')) p: typeof ChannelPathSchema.static) {
    return this.stats.channelPending(p.chain_id, p.channel);
  }

  @Get('channels/congestion')
  @ApiOperation({ summary: 'The most congested channels now (each channel’s latest hour within the last day)' })
  @ApiParams(CongestionQuerySchema, 'query')
  congestion(@Query(new Schema(CongestionQuerySchema, 'query')) q: typeof CongestionQuerySchema.static) {
    return this.stats.congestion(q);
  }
}
