import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';

/** Responses from this size on are compressed for clients that accept it (here and by @fastify/compress). */
export const COMPRESS_THRESHOLD_BYTES = 1024;
/** The encodings offered, best first (the same as the @fastify/compress registration). */
export const ENCODINGS = ['br', 'gzip'] as const;
type Encoding = (typeof ENCODINGS)[number];

/** Accept-Encoding values are few in practice, but they are the client's to choose: the cache of answers is bounded. */
const negotiator = new Negotiator<Encoding>({ supportedValues: [...ENCODINGS], cache: new LRUCache<string, string>({ max: 1_000 }) });

/**
 * A response body that is reused (a cached page sent many times a second): encoded to UTF-8 once, and compressed
 * once per encoding the first time a client asks for it, instead of on every response as @fastify/compress would.
 * Brotli at quality 4, as @fastify/compress does by default.
 */
export class EncodedBody {
  readonly identity: Buffer;
  private readonly compressed: Partial<Record<Encoding, Buffer>> = {};

  constructor(text: string) {
    this.identity = Buffer.from(text, 'utf8');
  }

  encoded(encoding: Encoding): Buffer {
    return (this.compressed[encoding] ??=
      encoding === 'br' ? brotliCompressSync(this.identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: this.identity.length } }) : gzipSync(this.identity));
  }
}

/**
 * The bytes to send for `body` to this client: compressed (with Content-Encoding set, so @fastify/compress leaves
 * it alone) when it is large enough and the client accepts br or gzip, the UTF-8 text otherwise. A body large enough
 * to be compressed varies by Accept-Encoding whichever form this client gets, so shared caches keep them apart.
 */
export function negotiateBody(request: FastifyRequest, reply: FastifyReply, body: EncodedBody): Buffer {
  if (body.identity.length < COMPRESS_THRESHOLD_BYTES) return body.identity;
  const vary = reply.getHeader('vary');
  void reply.header('vary', vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding');
  const accepted = request.headers['accept-encoding'];
  const encoding = accepted ? negotiator.negotiate(accepted.toLowerCase()) : null;
  if (encoding === null) return body.identity;
  void reply.header('content-encoding', encoding);
  return body.encoded(encoding);
}
