import { startBuiltApp, startServer, stopServer, untilReady, waitFor, type ServiceProcess } from '@unstuck/testing';

/** Each app from its built JS, on ports of the test's own (below the ephemeral range) so a running `npm start` is not disturbed. */
const APPS = [
  { name: 'api-gateway', portVar: 'GATEWAY_PORT', port: 23100 },
  { name: 'clearing-service', portVar: 'CLEARING_PORT', port: 23101 },
  { name: 'packet-ingest', portVar: 'INGEST_PORT', port: 23102 },
  { name: 'stats-aggregator', portVar: 'STATS_PORT', port: 23103 },
  { name: 'notifier', portVar: 'NOTIFIER_PORT', port: 23104 },
] as const;

function start(app: (typeof APPS)[number], extraEnv: Record<string, string> = {}) {
  return startBuiltApp(app.name, { [app.portVar]: String(app.port), ...extraEnv });
}

const get = (port: number, path: string) => fetch(`http://127.0.0.1:${port}${path}`);

describe('the five services, booted from built JS against the real infrastructure', () => {
  const running: Array<ServiceProcess & { app: (typeof APPS)[number] }> = [];

  beforeAll(async () => {
    for (const app of APPS) running.push({ app, ...start(app) });
    await untilReady(APPS.map((app) => `http://127.0.0.1:${app.port}/health/live`), running, 30_000);
  }, 60_000);

  afterAll(async () => {
    await startServer('primary');
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  });

  it('each is live and ready with Postgres (primary and replica), Redis and NATS up', async () => {
    for (const { port } of APPS) {
      // Ready at once; the replica may read as degraded for a probe or two while a fresh service's first writes
      // (the stats leader's partition and view jobs) replicate, so wait for everything to read up.
      const body = await waitFor(async () => {
        const r = await get(port, '/health/ready');
        if (r.status !== 200) return undefined;
        const b = (await r.json()) as any;
        return Object.values(b.details).every((d: any) => d.status === 'up' && !d.degraded) ? b : undefined;
      }, 20_000);
      expect(Object.keys(body.details).sort()).toEqual(['nats', 'postgres_primary', 'postgres_replica', 'redis']);
      expect(Object.values(body.details).every((d: any) => d.status === 'up' && !d.degraded)).toBe(true);
    }
  }, APPS.length * 20_000 + 5_000); // each app may take its whole 20 s wait

  it('each exports default metrics, event-loop lag and the HTTP histogram labelled with its service', async () => {
    for (const { name, port } of APPS) {
      await get(port, '/health/live');
      const text = await (await get(port, '/metrics')).text();
      expect(text).toContain(`nodejs_eventloop_lag_p99_seconds{service="${name}"}`);
      expect(text).toMatch(new RegExp(`http_server_request_duration_seconds_count\\{service="${name}",method="GET",route="/health/live",status_code="200"\\} \\d+`));
    }
  });

  it('each answers 503 on /health/ready while the Postgres primary is stopped, and 200 once it is back', async () => {
    await stopServer('primary');
    try {
      for (const { port } of APPS) {
        const res = await waitFor(async () => {
          const r = await get(port, '/health/ready');
          return r.status === 503 ? r : undefined;
        }, 15_000);
        const body = (await res.json()) as any;
        expect(body.details.postgres_primary.status).toBe('down');
        // Liveness does not depend on the database: restarting the pod would not help.
        expect((await get(port, '/health/live')).status).toBe(200);
      }
    } finally {
      await startServer('primary');
    }
    for (const { port } of APPS) {
      await waitFor(async () => (await get(port, '/health/ready')).status === 200, 20_000, 200);
    }
  });

  it('the gateway serves its REST API under /api/v1 with probes at the root', async () => {
    const gateway = APPS[0];
    expect((await get(gateway.port, '/api/v1/health/live')).status).toBe(404);
    expect((await get(gateway.port, '/health/live')).status).toBe(200);
  });

  it('each exits on SIGTERM once its shutdown hooks have run, well before the forced-exit timer', async () => {
    await Promise.all(
      running.map(async (r) => {
        r.child.kill('SIGTERM');
        const result = (await Promise.race([r.exited, new Promise((res) => setTimeout(() => res('timeout'), 15_000))])) as
          | { code: number | null; signal: string | null }
          | 'timeout';
        expect(result).not.toBe('timeout');
        // Nest re-raises the signal after its shutdown hooks ran: exit by SIGTERM, not by the forced-exit timer (code 1).
        expect(result === 'timeout' ? null : (result.signal ?? String(result.code))).toMatch(/SIGTERM|^0$/);
        expect(r.output()).not.toMatch(/graceful shutdown took longer/);
      }),
    );
  }, 30_000);

  it('refuses to boot with a bad environment, listing every bad variable', async () => {
    const bad = start(APPS[0], { DB_POOL_MAX: 'lots', NATS_URL: 'http://nats.example', REPLICA_MAX_LAG_MS: '-5' });
    const result = await bad.exited;
    expect(result).toEqual({ code: 1, signal: null });
    for (const v of ['DB_POOL_MAX', 'NATS_URL', 'REPLICA_MAX_LAG_MS']) expect(bad.output()).toContain(v);
    expect(bad.output()).not.toMatch(/at .*\.js:\d+/);
  });
});
