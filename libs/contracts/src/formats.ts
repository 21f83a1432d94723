import { FormatRegistry } from '@sinclair/typebox';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|([+-])(\d{2}):(\d{2}))$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Times Unstuck accepts as input: IBC began in 2021, and nothing it stores is dated past 2100. */
export const EARLIEST_INPUT_TIME = Date.UTC(2000, 0, 1);
export const LATEST_INPUT_TIME = Date.UTC(2100, 0, 1);

/** The largest IBC sequence (uint64), and the largest PostgreSQL's bigint holds (what Unstuck stores). */
export const MAX_UINT64 = 18_446_744_073_709_551_615n;
export const MAX_STORED_SEQUENCE = 9_223_372_036_854_775_807n;

/**
 * An RFC 3339 time that exists: month 1–12, a day the month has (no 02-30), 00:00:00–23:59:59 (no 24:00, no leap
 * second), an offset within ±23:59. `Date.parse` alone rolls 02-30 over to March and takes 24:00.
 */
export function isRealTime(v: string): boolean {
  const m = RFC3339.exec(v);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[9] && (Number(m[10]) > 23 || Number(m[11]) > 59)) return false;
  return !Number.isNaN(Date.parse(v));
}

/** A time a caller may ask about: real (isRealTime) and within 2000–2100. */
export function isInputTime(v: string): boolean {
  if (!isRealTime(v)) return false;
  const at = Date.parse(v);
  return at >= EARLIEST_INPUT_TIME && at <= LATEST_INPUT_TIME;
}

/** A decimal uint64 (no sign, no leading zero but for 0 itself). */
export function isUint64(v: string): boolean {
  return /^(0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) <= MAX_UINT64;
}

/** The string formats our schemas use; TypeBox checks only formats that are registered. */
export function registerFormats(): void {
  if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isRealTime);
  if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));
  if (!FormatRegistry.Has('input-time')) FormatRegistry.Set('input-time', isInputTime);
  if (!FormatRegistry.Has('uint64')) FormatRegistry.Set('uint64', isUint64);
}
registerFormats();
