import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { percentile } from './harness';
import { pacedLoad } from './paced';

describe('pacedLoad', () => {
  let server: Server;
  let url: string;
  const arrivals: number[] = [];
  let stallUntil = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      arrivals.push(performance.now());
      if (req.url === '/fail') res.statusCode = 500;
      const answer = () => res.end('ok');
      const wait = stallUntil - performance.now();
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => void arrivals.splice(0));

  it('spreads requests evenly over the run instead of sending each second in a burst', async () => {
    const result = await pacedLoad({ url, rate: 200, durationS: 1, connections: 10, path: () => '/' });
    expect(result.errors).toBe(0);
    expect(result.latencies.length).toBe(200);
    // Arrivals fill the second: in each 100 ms window about a tenth of them, never the whole second's share at once.
    const first = arrivals[0]!;
    const perWindow = Array.from({ length: 10 }, (_, w) => arrivals.filter((t) => t - first >= w * 100 && t - first < (w + 1) * 100).length);
    expect(Math.max(...perWindow)).toBeLessThan(40);
    expect(Math.min(...perWindow)).toBeGreaterThan(5);
  });

  it('counts a stall against every request due during it, measured from its due time', async () => {
    stallUntil = performance.now() + 300;
    const result = await pacedLoad({ url, rate: 100, durationS: 1, connections: 50, path: () => '/' });
    stallUntil = 0;
    // The first request waits ~300 ms; those due during the stall wait less and less: ~30 of 100 requests above 0 ms.
    expect(percentile(result.latencies, 100)).toBeGreaterThanOrEqual(250);
    expect(percentile(result.latencies, 50)).toBeLessThan(50);
    expect(result.latencies.filter((l) => l > 20).length).toBeGreaterThanOrEqual(20);
  });

  it('keeps failed answers out of the latencies and counts them', async () => {
    const result = await pacedLoad({ url, rate: 100, durationS: 0.2, connections: 5, path: () => '/fail' });
    expect(result.errors).toBe(20);
    expect(result.latencies.length).toBe(0);
  });
});
