import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors';

/** The deepest nesting a request body may have: every body here is two or three levels deep. */
export const MAX_JSON_DEPTH = 32;

/**
 * How deep a JSON text nests, stopping as soon as it passes `limit` (one pass, no recursion: a body of 10 KB of
 * `[` cannot overflow anything). Brackets inside strings do not count.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * The gateway's only body parser: `application/json` (any charset parameter), nested at most MAX_JSON_DEPTH deep,
 * parsed by Fastify's own parser (prototype poisoning refused). Every other content type — forms, text, XML — gets
 * Fastify's 415, answered as `unsupported_media_type`.
 */
export function registerJsonBodyOnly(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (jsonDepthExceeds(body as string, MAX_JSON_DEPTH)) {
      done(ApiError.badRequest('invalid_json', `the request body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
