import { Agent, get } from 'node:http';

export interface PacedResult {
  /** Milliseconds from each request's scheduled start to the end of its answer, in the order they ended. */
  latencies: number[];
  /** Requests that failed or answered other than 2xx (not in `latencies`). */
  errors: number;
  /** Requests per second actually started. */
  rate: number;
}

/**
 * Open-model load at a fixed rate: request i is due at start + i / rate, whatever earlier answers took, and is sent
 * on one of `connections` keep-alive connections (queued until one is free). Latency runs from the request's due
 * time, so a stall counts against every request due during it (no coordinated omission), and the client's own
 * lateness counts against the server, never for it.
 *
 * autocannon's `overallRate` is not this: each connection sends its share of a second back to back when the second
 * starts and then waits for the next one, so "1,000 req/s" over 50 connections is a burst of 1,000 requests at full
 * speed once a second, and it then corrects for coordinated omission as if they had been due 1 ms apart.
 */
export async function pacedLoad(opts: { url: string; rate: number; durationS: number; connections: number; path: () => string; headers?: Record<string, string> }): Promise<PacedResult> {
  const base = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const total = Math.round(opts.rate * opts.durationS);
  const interval = 1000 / opts.rate;
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const settle = () => {
      if (latencies.length + errors === total) resolve();
    };
    const send = (due: number) => {
      const req = get({ agent, host: base.hostname, port: base.port, path: opts.path(), headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - due);
          else errors++;
          settle();
        });
      });
      req.on('error', () => {
        errors++;
        settle();
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { latencies, errors, rate: sent / elapsed };
}
