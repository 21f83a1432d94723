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
 * Brotli's window: the smallest that holds the whole body ((1 << bits) - 16 bytes; a larger one finds nothing more).
 * The default, 4 MB, made quality 1 allocate and fault in buffers sized for it on every call: 71 µs of CPU for a
 * 28 KB page, 37 µs with a window of 32 KB, the same bytes out.
 */
const brotliWindowBits = (length: number) =>
  Math.min(constants.BROTLI_MAX_WINDOW_BITS, Math.max(constants.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(length + 16))));

/** Compresses quickly (brotli 1, gzip 1) or thoroughly (brotli 4, gzip 6); EncodedBody decides which. */
function compress(bytes: Buffer, encoding: Encoding, thorough: boolean): Buffer {
  if (encoding === 'gzip') return gzipSync(bytes, { level: thorough ? constants.Z_DEFAULT_COMPRESSION : 1 });
  return brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: thorough ? 4 : 1,
      [constants.BROTLI_PARAM_LGWIN]: brotliWindowBits(bytes.length),
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
}

/** Answers in one encoding after which a body is compressed again, thoroughly: it is being reused enough to pay. */
export const THOROUGH_AFTER_SENDS = 8;

/**
 * A response body that may be reused (a cached page sent many times a second): encoded to UTF-8 once, and compressed
 * per encoding when a client first asks for it, instead of on every response as @fastify/compress would.
 *
 * Most bodies are sent once or a few times (a wallet asked about now and then, a page reused for at most a second),
 * so they are compressed quickly (brotli quality 1, gzip level 1: a 28 KB page of 50 packets in ~37 µs of CPU). A
 * body sent THOROUGH_AFTER_SENDS times in an encoding is compressed again as @fastify/compress would (brotli quality
 * 4, gzip level 6: ~120 µs, ~12 % smaller) for every answer after that. Recompressing at the second answer, as
 * before, cost a wallet asked about twice a second 157 µs of CPU to save 330 bytes once.
 */
export class EncodedBody {
  readonly identity: Buffer;
  private readonly compressed: Partial<Record<Encoding, { bytes: Buffer; sends: number }>> = {};

  constructor(text: string) {
    this.identity = Buffer.from(text, 'utf8');
  }

  encoded(encoding: Encoding): Buffer {
    const held = this.compressed[encoding];
    if (held === undefined) {
      const bytes = compress(this.identity, encoding, false);
      this.compressed[encoding] = { bytes, sends: 1 };
      return bytes;
    }
    held.sends += 1;
    if (held.sends === THOROUGH_AFTER_SENDS + 1) held.bytes = compress(this.identity, encoding, true);
    return held.bytes;
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
