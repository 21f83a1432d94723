import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

const RAW = Buffer.from('r:');
const GZIP = Buffer.from('g:');

/**
 * Cache values on the wire: a two-byte format prefix, then JSON ("r:") or gzip'd JSON ("g:"). Values at or over
 * the threshold are compressed, and kept compressed only when that saves at least 10 % (seed 003, task 1.4: real
 * compression, not base64).
 */
export async function encodeValue(value: unknown, thresholdBytes: number): Promise<Buffer> {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length >= thresholdBytes) {
    const packed = await gzipAsync(json);
    if (packed.length < json.length * 0.9) return Buffer.concat([GZIP, packed]);
  }
  return Buffer.concat([RAW, json]);
}

export async function decodeValue<T>(buf: Buffer): Promise<T> {
  const prefix = buf.subarray(0, 2);
  const body = buf.subarray(2);
  if (prefix.equals(GZIP)) return JSON.parse((await gunzipAsync(body)).toString('utf8')) as T;
  if (prefix.equals(RAW)) return JSON.parse(body.toString('utf8')) as T;
  throw new Error(`unknown cache value format ${JSON.stringify(prefix.toString('latin1'))}`);
}
