import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsRegistry } from '@unstuck/observability';
import { BreakerOpenError, backoffDelay, createBreaker, HttpError, isTransientError, KeepAliveHttpClient, retry, SingleFlight } from './index';

describe('isTransientError', () => {
  it('retries network failures and 429/5xx, not 4xx caused by the request', () => {
    expect(isTransientError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientError(new HttpError(503, 'u', ''))).toBe(true);
    expect(isTransientError(new HttpError(429, 'u', ''))).toBe(true);
    expect(isTransientError(new HttpError(400, 'u', ''))).toBe(false);
    expect(isTransientError(new Error('schema'))).toBe(false);
    expect(isTransientError(new Error('wrapped', { cause: { code: 'ETIMEDOUT' } }))).toBe(true);
  });
});

describe('retry', () => {
  it('retries transient errors until success', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls += 1;
        if (calls < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        return 'ok';
      },
      { attempts: 5, initialDelayMs: 1, maxDelayMs: 5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry an error that is not transient', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw new HttpError(400, 'u', 'bad');
        },
        { attempts: 5, initialDelayMs: 1, maxDelayMs: 5 },
      ),
    ).rejects.toBeInstanceOf(HttpError);
    expect(calls).toBe(1);
  });

  it('gives up after the configured attempts', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls += 1;
          throw new HttpError(503, 'u', '');
        },
        { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
      ),
    ).rejects.toBeInstanceOf(HttpError);
    expect(calls).toBe(3);
  });

  it('computes bounded, growing delays with jitter', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(30, 100, 10_000, () => 1)).toBe(10_000);
  });
});

describe('SingleFlight', () => {
  it('runs identical concurrent calls once and shares the result', async () => {
    const sf = new SingleFlight<number>();
    let calls = 0;
    const load = () => new Promise<number>((r) => setTimeout(() => r(++calls), 10));
    const results = await Promise.all(Array.from({ length: 50 }, () => sf.do('k', load)));
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set([1]));
    expect(sf.size).toBe(0);
    await sf.do('k', load);
    expect(calls).toBe(2);
  });
});

describe('createBreaker', () => {
  it('opens after repeated failures, fails fast while open, and exports its state', async () => {
    let calls = 0;
    const { fire, breaker } = createBreaker(
      'test-dep',
      async () => {
        calls += 1;
        throw new Error('down');
      },
      { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 60_000, timeoutMs: 1000 },
    );
    for (let i = 0; i < 3; i++) await expect(fire()).rejects.toThrow('down');
    expect(breaker.opened).toBe(true);
    await expect(fire()).rejects.toBeInstanceOf(BreakerOpenError);
    expect(calls).toBe(3);
    const text = await metricsRegistry.metrics();
    expect(text).toMatch(/circuit_breaker_state\{[^}]*breaker="test-dep"[^}]*\} 2/);
    breaker.shutdown();
  });
});

describe('KeepAliveHttpClient', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<unknown>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/fail') {
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url }));
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reuses one connection for sequential requests and reports non-2xx as HttpError', async () => {
    const client = new KeepAliveHttpClient({ connections: 1 });
    for (let i = 0; i < 5; i++) expect(await client.getJson(`${base}/a${i}`)).toEqual({ url: `/a${i}` });
    expect(sockets.size).toBe(1);
    await expect(client.getJson(`${base}/fail`)).rejects.toMatchObject({ status: 503 });
    await client.close();
  });

  it('returns a POST answer as bytes in a buffer of their own (transferable), and a non-2xx with its text', async () => {
    const client = new KeepAliveHttpClient({ connections: 1 });
    const bytes = await client.postBytes(`${base}/b`, { q: 1 });
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual({ url: '/b' });
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(bytes.byteLength);
    await expect(client.postBytes(`${base}/fail`, {})).rejects.toMatchObject({ name: 'HttpError', status: 503, body: 'busy' });
    await client.close();
  });
});
