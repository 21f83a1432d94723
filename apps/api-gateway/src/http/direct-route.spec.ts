import Fastify from 'fastify';
import { serveDirectly } from './direct-route';

describe('serveDirectly', () => {
  it('swaps the registered handler for the direct one and keeps the route’s hooks; other routes are untouched', async () => {
    const app = Fastify();
    serveDirectly(app, 'GET', '/api/v1/things', async (_request, reply) => {
      void reply.header('x-direct', '1');
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
    await app.close();
  });

  it('sets its route options before plugins registered after it read them in onRoute', async () => {
    const app = Fastify();
    serveDirectly(app, 'GET', '/api/v1/things', async () => 'direct', { config: { seen: 'direct' } as never });
    const seen: unknown[] = [];
    app.addHook('onRoute', (route) => void seen.push((route.config as { seen?: unknown } | undefined)?.seen));
    app.route({ method: 'GET', url: '/api/v1/things', handler: async () => 'nest' });
    await app.ready();
    expect(seen).toEqual(['direct']);
    await app.close();
  });

  it('refuses to start when the route it should serve was never registered', async () => {
    const app = Fastify();
    serveDirectly(app, 'GET', '/api/v1/missing', async () => 'direct');
    app.get('/api/v1/other', async () => 'other');
    await expect(app.ready()).rejects.toThrow('no GET /api/v1/missing route');
  });
});
