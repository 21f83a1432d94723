import Fastify from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { serveDirectly } from './direct-route';

describe('serveDirectly', () => {
  const lines: Record<string, unknown>[] = [];
  beforeAll(() => {
    const root = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    (PinoLogger as unknown as { root: unknown }).root = root;
  });
  afterAll(() => {
    (PinoLogger as unknown as { root: unknown }).root = undefined;
  });

  it('swaps the registered handler for the direct one, keeps the route’s hooks, and logs each request by its status', async () => {
    const app = Fastify();
    serveDirectly(app, 'GET', '/api/v1/things', async (request, reply) => {
      void reply.header('x-direct', '1');
      if ((request.query as { bad?: string }).bad) return reply.status(400).send({ error: { code: 'bad_request', message: 'no' } });
      return 'direct';
    });
    const hooked: string[] = [];
    // As Nest registers it: its own handler, plus a route-level hook that must survive the swap.
    app.route({ method: 'GET', url: '/api/v1/things', handler: async () => 'nest', onRequest: (req, _reply, done) => (hooked.push(req.url), done()) });
    app.get('/api/v1/other', async () => 'other');

    const ok = await app.inject('/api/v1/things');
    expect(ok.body).toBe('direct');
    expect(ok.headers['x-direct']).toBe('1');
    expect(hooked).toEqual(['/api/v1/things']);
    expect((await app.inject('/api/v1/other')).body).toBe('other');
    await app.inject('/api/v1/things?bad=1');

    const logged = lines.filter((l) => l.msg === 'request completed');
    expect(logged.map((l) => [l.level, (l.req as { url: string }).url, (l.res as { statusCode: number }).statusCode])).toEqual([
      [30, '/api/v1/things', 200],
      [40, '/api/v1/things?bad=1', 400],
    ]);
    await app.close();
  });

  it('refuses to start when the route it should serve was never registered', async () => {
    const app = Fastify();
    serveDirectly(app, 'GET', '/api/v1/missing', async () => 'direct');
    app.get('/api/v1/other', async () => 'other');
    await expect(app.ready()).rejects.toThrow('no GET /api/v1/missing route');
  });
});
