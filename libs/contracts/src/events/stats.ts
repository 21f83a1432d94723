import { Type, type Static } from '@sinclair/typebox';
import { IsoTime } from './common';

export const StatsScope = Type.Union([
  Type.Literal('platform'),
  Type.Literal('network'),
  Type.Literal('channel'),
  Type.Literal('relayer'),
]);
export type StatsScope = Static<typeof StatsScope>;

export const StatsUpdatedV1 = Type.Object(
  {
    scope: StatsScope,
    /** What the figures describe: "all" for the platform, a chain id, "<chain>/<channel>", or a relayer address. */
    key: Type.String({ minLength: 1, maxLength: 200 }),
    period_start: IsoTime,
    stats: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Null()])),
    updated_at: IsoTime,
  },
  { $id: 'unstuck.stats.updated.v1', additionalProperties: false, description: 'statistics changed (throttled)' },
);
export type StatsUpdatedV1 = Static<typeof StatsUpdatedV1>;
