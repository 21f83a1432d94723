import Fastify from 'fastify';
import { registerSecurityHeaders } from './security-headers';

describe('registerSecurityHeaders', () => {
  const app = Fastify();
  registerSecurityHeaders(app, 'api/v1', ['wss:', 'https://rpc.example']);
  app.get('/api/v1/things', async () => ({ ok: true }));
  app.get('/', async (_request, reply) => reply.type('text/html').send('<!doctype html>'));
  app.get('/api/v1x', async () => 'not the API');
  afterAll(() => app.close());

  it("gives API answers OWASP's REST set: nothing allowed, no framing, nosniff, HSTS", async () => {
    const res = await app.inject('/api/v1/things?wallet=x');
    expect(res.headers).toMatchObject({
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
    });
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    expect(res.headers['x-dns-prefetch-control']).toBeUndefined();
  });

  it("gives documents helmet's full set, with the dashboard's connect-src", async () => {
    for (const url of ['/', '/api/v1x']) {
      const res = await app.inject(url);
      expect(res.headers['content-security-policy']).toContain("connect-src 'self' wss: https://rpc.example");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
      expect(res.headers).toMatchObject({ 'x-frame-options': 'SAMEORIGIN', 'x-dns-prefetch-control': 'off', 'x-content-type-options': 'nosniff' });
    }
  });
});
