import { decodeValue, encodeValue } from './codec';

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
