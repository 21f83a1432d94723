import { Type } from '@sinclair/typebox';
import { StuckQuerySchema } from '../packets/packets.controller';
import { ApiError } from './errors';
import { CursorCodec, pageInfo } from './pagination';
import { parseWith } from './validation';

const errorOf = (fn: () => unknown): ApiError | undefined => {
  try {
    fn();
  } catch (e) {
    return e as ApiError;
  }
  return undefined;
};
const codeOf = (fn: () => unknown) => errorOf(fn)?.code;

describe('cursors', () => {
  const codec = new CursorCodec('x'.repeat(32));
  const position = { t: '2026-11-21T10:00:00.123456Z', id: '42', s: '2026-11-21T11:00:00.000Z' };

  it('round-trips a position within its scope', () => {
    expect(codec.decode(codec.encode(position, 'scope-a'), 'scope-a')).toEqual(position);
  });

  it('refuses a cursor that was edited, cut, signed by another secret or made for other filters', () => {
    const cursor = codec.encode(position, 'scope-a');
    const [body, mac] = cursor.split('.');
    const edited = `${Buffer.from(Buffer.from(body!, 'base64url').toString().replace('42', '43')).toString('base64url')}.${mac}`;
    expect(codeOf(() => codec.decode(edited, 'scope-a'))).toBe('invalid_cursor');
    expect(codeOf(() => codec.decode(cursor.slice(0, -3), 'scope-a'))).toBe('invalid_cursor');
    expect(codeOf(() => codec.decode(body!, 'scope-a'))).toBe('invalid_cursor');
    expect(codeOf(() => new CursorCodec('y'.repeat(32)).decode(cursor, 'scope-a'))).toBe('invalid_cursor');
    expect(codeOf(() => codec.decode(cursor, 'scope-b'))).toBe('invalid_cursor');
  });
});

describe('page numbers', () => {
  it('describes the edges: empty, exact last page, past the end', () => {
    expect(pageInfo(1, 20, 0)).toEqual({ page: 1, page_size: 20, total_items: 0, total_pages: 0, has_next: false, has_prev: false });
    expect(pageInfo(2, 5, 10)).toMatchObject({ total_pages: 2, has_next: false, has_prev: true });
    expect(pageInfo(1, 5, 11)).toMatchObject({ total_pages: 3, has_next: true });
    expect(codeOf(() => pageInfo(3, 5, 10))).toBe('page_out_of_range');
    expect(codeOf(() => pageInfo(2, 5, 0))).toBe('page_out_of_range');
  });
});

describe('query validation', () => {
  const Q = Type.Object(
    { page: Type.Integer({ minimum: 1, default: 1 }), sort_by: Type.Union([Type.Literal('created_at'), Type.Literal('status')], { default: 'created_at' }) },
    { additionalProperties: false },
  );

  it('converts strings, fills defaults, and names the parameter it refuses', () => {
    expect(parseWith(Q, { page: '3' }, 'query')).toEqual({ page: 3, sort_by: 'created_at' });
    expect(codeOf(() => parseWith(Q, { page: '0' }, 'query'))).toBe('invalid_query_parameter');
    expect(codeOf(() => parseWith(Q, { sort_by: 'created_at;DROP TABLE x' }, 'query'))).toBe('invalid_query_parameter');
    expect(codeOf(() => parseWith(Q, { pagesize: '3' }, 'query'))).toBe('unknown_query_parameter');
    expect(errorOf(() => parseWith(Q, { page: 'two' }, 'query'))?.message).toContain('"page"');
  });

  it('reads integers from plain decimal digits only: 1e2, 0x10, 2.9, 1.0, " 5" and true are refused, never read as numbers', () => {
    const wallet = 'cosmos1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu';
    expect(parseWith(StuckQuerySchema, { wallet, limit: '007', min_age_seconds: '0' }, 'query')).toMatchObject({ limit: 7, min_age_seconds: 0 });
    for (const bad of ['1e2', '0x10', '2.9', '1.0', ' 5', 'true', '', '+5', '٥']) {
      const e = errorOf(() => parseWith(StuckQuerySchema, { wallet, limit: bad }, 'query'));
      expect(e).toBeInstanceOf(ApiError);
      expect(e!.message).toBe('query parameter "limit" must be an integer written in decimal digits (items per page, 1–500)');
    }
    expect(errorOf(() => parseWith(StuckQuerySchema, { wallet, limit: '-3' }, 'query'))!.message).toContain('must be at least 1');
    expect(errorOf(() => parseWith(StuckQuerySchema, { wallet, limit: ['1', '2'] }, 'query'))!.message).toBe('query parameter "limit" is given 2 times; give it once');
  });

  it('names a missing parameter as missing, lists a union’s values, and every unknown parameter', () => {
    const needsWallet = Type.Object({ wallet: Type.String({ description: 'bech32 address' }), limit: Type.Integer({ default: 1 }) }, { additionalProperties: false });
    expect(errorOf(() => parseWith(needsWallet, { limit: '5' }, 'query'))!.message).toBe('query parameter "wallet" is missing');
    const wallet = 'cosmos1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu';
    expect(errorOf(() => parseWith(StuckQuerySchema, { wallet, kind: 'stuck' }, 'query'))!.message).toBe('query parameter "kind" must be one of awaiting_recv, awaiting_ack, timeout_pending');
    expect(errorOf(() => parseWith(StuckQuerySchema, { wallet, extra: '1', more: '2' }, 'query'))!.message).toBe('unknown query parameters: extra, more');
  });
});
