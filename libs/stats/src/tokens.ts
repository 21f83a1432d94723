export const STATS_ENV = Symbol('STATS_ENV');
