import { gunzipSync } from 'node:zlib';
import { decodeValue, encodeValue, SYNC_LIMIT_BYTES } from './codec';

describe('cache value codec', () => {
  it('keeps small values raw with the r: prefix', async () => {
    const buf = await encodeValue({ a: 1 }, 1024);
    expect(buf.subarray(0, 2).toString()).toBe('r:');
    expect(await decodeValue(buf)).toEqual({ a: 1 });
  });

  it('gzips large compressible values with the g: prefix and round-trips them', async () => {
    const value = { rows: Array.from({ length: 500 }, (_, i) => ({ i, denom: 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2' })) };
    const buf = await encodeValue(value, 1024);
    expect(buf.subarray(0, 2).toString()).toBe('g:');
    expect(buf.length).toBeLessThan(JSON.stringify(value).length / 5);
    expect(await decodeValue(buf)).toEqual(value);
  });

  it('round-trips values compressed on this thread and on the thread pool alike (under and over SYNC_LIMIT_BYTES)', async () => {
    // Rows that do not repeat exactly, so the compressed size follows the value's size.
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ i, sequence: String(i * 7919), denom: `ibc/${(i * 2654435761) % 4294967296}` }));
    for (const n of [100, 20_000]) {
      const value = { rows: rows(n) };
      const json = JSON.stringify(value).length;
      const buf = await encodeValue(value, 1024);
      expect(buf.subarray(0, 2).toString()).toBe('g:');
      expect(JSON.parse(gunzipSync(buf.subarray(2)).toString('utf8'))).toEqual(value);
      expect(await decodeValue(buf)).toEqual(value);
      if (n === 100) expect(json).toBeLessThan(SYNC_LIMIT_BYTES);
      else expect(buf.length - 2).toBeGreaterThan(SYNC_LIMIT_BYTES / 8);
    }
  });

  it('keeps a value raw when gzip would not make it at least 10 % smaller', async () => {
    // Over a zero threshold, a tiny value's gzip (header and trailer included) is larger than the value itself.
    const buf = await encodeValue({ a: 1 }, 0);
    expect(buf.subarray(0, 2).toString()).toBe('r:');
    expect(await decodeValue(buf)).toEqual({ a: 1 });
  });

  it('refuses a value in an unknown format instead of guessing', async () => {
    await expect(decodeValue(Buffer.from('x:{}'))).rejects.toThrow(/unknown cache value format/);
  });
});
