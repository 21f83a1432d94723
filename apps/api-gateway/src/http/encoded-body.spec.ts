import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { COMPRESS_THRESHOLD_BYTES, EncodedBody, negotiateBody } from './encoded-body';

describe('EncodedBody and negotiateBody', () => {
  const large = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ sequence: String(i), memo: 'ünïcode ✓' })) });
  const small = '{"items":[]}';
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    const bodies = { large: new EncodedBody(large), small: new EncodedBody(small) };
    app.get<{ Params: { which: 'large' | 'small' } }>('/:which', (request, reply) => {
      void reply.header('vary', 'Origin').type('application/json; charset=utf-8');
      return negotiateBody(request, reply, bodies[request.params.which]);
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const get = (which: string, acceptEncoding?: string) => app.inject({ method: 'GET', url: `/${which}`, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } });

  it('sends brotli to a browser (br preferred over gzip), the same bytes every time', async () => {
    const a = await get('large', 'gzip, deflate, br, zstd');
    const b = await get('large', 'gzip, deflate, br, zstd');
    expect(a.headers['content-encoding']).toBe('br');
    expect(a.headers.vary).toBe('Origin, Accept-Encoding');
    expect(Number(a.headers['content-length'])).toBe(a.rawPayload.length);
    expect(a.rawPayload.length).toBeLessThan(Buffer.byteLength(large) / 4);
    expect(brotliDecompressSync(a.rawPayload).toString('utf8')).toBe(large);
    expect(b.rawPayload.equals(a.rawPayload)).toBe(true);
  });

  it('sends gzip when that is all the client takes, honouring q-values', async () => {
    for (const header of ['gzip', 'GZIP, deflate', 'br;q=0, gzip;q=0.5']) {
      const res = await get('large', header);
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(res.rawPayload).toString('utf8')).toBe(large);
    }
  });

  it('sends the plain UTF-8 text without Accept-Encoding, or when nothing offered is accepted', async () => {
    for (const header of [undefined, 'identity', 'deflate', 'br;q=0, gzip;q=0']) {
      const res = await get('large', header);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers.vary).toBe('Origin, Accept-Encoding');
      expect(res.payload).toBe(large);
    }
  });

  it('never compresses a body under the threshold', async () => {
    expect(Buffer.byteLength(small)).toBeLessThan(COMPRESS_THRESHOLD_BYTES);
    const res = await get('small', 'br, gzip');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.vary).toBe('Origin');
    expect(res.payload).toBe(small);
  });
});
