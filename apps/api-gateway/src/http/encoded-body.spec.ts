import { createHash } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { COMPRESS_THRESHOLD_BYTES, EncodedBody, negotiateBody, THOROUGH_AFTER_SENDS } from './encoded-body';

describe('EncodedBody and negotiateBody', () => {
  // Like a page of stuck packets: the same keys, values that differ from item to item.
  const large = JSON.stringify({
    items: Array.from({ length: 40 }, (_, i) => ({
      sequence: String(100_000 + i * 7919),
      receiver: `osmo1${createHash('sha256').update(String(i)).digest('hex').slice(0, 38)}`,
      amount: String((i * 104_729) % 1_000_003),
      memo: 'ünïcode ✓',
    })),
  });
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

  it('sends brotli to a browser (br preferred over gzip): compressed quickly, and thoroughly once sent often enough', async () => {
    const answers = [];
    for (let i = 0; i < THOROUGH_AFTER_SENDS + 2; i++) answers.push(await get('large', 'gzip, deflate, br, zstd'));
    for (const res of answers) {
      expect(res.headers['content-encoding']).toBe('br');
      expect(res.headers.vary).toBe('Origin, Accept-Encoding');
      expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
      expect(brotliDecompressSync(res.rawPayload).toString('utf8')).toBe(large);
    }
    const [first] = answers;
    expect(first!.rawPayload.length).toBeLessThan(Buffer.byteLength(large) / 2);
    // The quick bytes until the body has been sent THOROUGH_AFTER_SENDS times, then smaller ones, kept.
    for (const res of answers.slice(1, THOROUGH_AFTER_SENDS)) expect(res.rawPayload.equals(first!.rawPayload)).toBe(true);
    const [thorough, after] = answers.slice(THOROUGH_AFTER_SENDS);
    expect(thorough!.rawPayload.length).toBeLessThan(first!.rawPayload.length);
    expect(after!.rawPayload.equals(thorough!.rawPayload)).toBe(true);
  });

  it('sends gzip when that is all the client takes, honouring q-values (quick, then thorough)', async () => {
    const headers = ['gzip', 'GZIP, deflate', 'br;q=0, gzip;q=0.5'];
    const sizes: number[] = [];
    for (let i = 0; i < THOROUGH_AFTER_SENDS + 2; i++) {
      const res = await get('large', headers[i % headers.length]);
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(res.rawPayload).toString('utf8')).toBe(large);
      sizes.push(res.rawPayload.length);
    }
    expect(new Set(sizes.slice(0, THOROUGH_AFTER_SENDS)).size).toBe(1);
    expect(sizes[THOROUGH_AFTER_SENDS]).toBeLessThan(sizes[0]!);
    expect(sizes[THOROUGH_AFTER_SENDS + 1]).toBe(sizes[THOROUGH_AFTER_SENDS]);
  });

  it('sends the plain UTF-8 text without Accept-Encoding, or when nothing offered is accepted', async () => {
    for (const header of [undefined, 'identity', 'deflate', 'br;q=0, gzip;q=0']) {
      const res = await get('large', header);
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers.vary).toBe('Origin, Accept-Encoding');
      expect(res.payload).toBe(large);
    }
  });

  it('fits brotli\'s window to the body: as small as with the default 4 MB window, whatever the size', () => {
    for (const copies of [1, 5, 40]) {
      const text = JSON.stringify(Array.from({ length: copies }, () => JSON.parse(large) as unknown));
      const body = new EncodedBody(text);
      for (const thorough of [false, true]) {
        if (thorough) for (let i = 1; i < THOROUGH_AFTER_SENDS; i++) body.encoded('br');
        const bytes = body.encoded('br');
        expect(brotliDecompressSync(bytes).toString('utf8')).toBe(text);
        const quality = thorough ? 4 : 1;
        const defaultWindow = brotliCompressSync(Buffer.from(text), { params: { [constants.BROTLI_PARAM_QUALITY]: quality } });
        // A window under 64 KB takes 3 more bits to declare in the stream's header than the default one.
        expect(bytes.length).toBeLessThanOrEqual(defaultWindow.length + 1);
      }
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
