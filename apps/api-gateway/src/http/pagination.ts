import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors';

/**
 * Opaque, tamper-evident cursors (seed 000's keyset pagination): the position of the last row served, the
 * snapshot time the listing started at (later pages never show rows that arrived after the first page, so pages
 * neither repeat nor skip), and the filters the cursor belongs to. Signed with HMAC-SHA256: a cursor edited by
 * hand, cut short or used with other filters is a 400, never a silently different page.
 */
export interface CursorPosition {
  /** ISO time of the last row served (the keyset's first column). */
  t: string;
  /** Id of the last row served (the tie-breaker). */
  id: string;
  /** Snapshot: the listing shows rows created at or before this ISO time. */
  s: string;
}

export class CursorCodec {
  constructor(private readonly secret: string) {}

  encode(position: CursorPosition, scope: string): string {
    const body = Buffer.from(JSON.stringify({ ...position, q: scope })).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** Decodes a cursor made for `scope` (the request's filters); anything else is a 400 `invalid_cursor`. */
  decode(cursor: string, scope: string): CursorPosition {
    const bad = (why: string) => ApiError.badRequest('invalid_cursor', `query parameter "cursor": ${why}; start again without a cursor`);
    const [body, mac] = cursor.split('.');
    if (!body || !mac || cursor.split('.').length !== 2) throw bad('not a cursor this API issued');
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw bad('the cursor was altered or was issued by another deployment');
    let parsed: Partial<CursorPosition> & { q?: string };
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      throw bad('the cursor is unreadable');
    }
    if (parsed.q !== scope) throw bad('the cursor belongs to a listing with other filters');
    if (typeof parsed.t !== 'string' || typeof parsed.id !== 'string' || typeof parsed.s !== 'string' || Number.isNaN(Date.parse(parsed.t)) || Number.isNaN(Date.parse(parsed.s))) {
      throw bad('the cursor is incomplete');
    }
    return { t: parsed.t, id: parsed.id, s: parsed.s };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

/** What an offset-paginated response carries besides its items. */
export interface PageInfo {
  page: number;
  page_size: number;
  total_items: number;
  total_pages: number;
  has_next: boolean;
  has_prev: boolean;
}

/**
 * Page metadata; a page past the last one is a 400 naming `page` (an empty listing has one, empty, page 1).
 * Out-of-range values are refused, never clamped, so a client bug shows instead of quietly returning other data.
 */
export function pageInfo(page: number, pageSize: number, totalItems: number): PageInfo {
  const totalPages = Math.ceil(totalItems / pageSize);
  if (page > Math.max(1, totalPages)) {
    throw ApiError.badRequest('page_out_of_range', `query parameter "page": ${page} is past the last page (${Math.max(1, totalPages)})`, {
      parameter: 'page',
      total_pages: totalPages,
    });
  }
  return { page, page_size: pageSize, total_items: totalItems, total_pages: totalPages, has_next: page < totalPages, has_prev: page > 1 };
}
