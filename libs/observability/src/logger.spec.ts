import Fastify from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { logRequest } from './logger';

describe('logRequest', () => {
  const lines: Record<string, unknown>[] = [];
  beforeAll(() => {
    (PinoLogger as unknown as { root: unknown }).root = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  });
  afterAll(() => {
    (PinoLogger as unknown as { root: unknown }).root = undefined;
  });

  it('logs each request once, at a level by its status, and leaves probes and scrapes out', async () => {
    const app = Fastify();
    app.addHook('onResponse', (request, reply, done) => {
      logRequest(request, reply);
      done();
    });
    app.get('/ok', async () => 'ok');
    app.get('/bad', async (_req, reply) => reply.status(400).send('no'));
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.get('/health/ready', async () => 'up');
    app.get('/metrics', async () => '');
    for (const url of ['/ok', '/bad?x=1', '/boom', '/health/ready', '/metrics']) await app.inject(url);

    const logged = lines.filter((l) => l.msg === 'request completed');
    expect(logged.map((l) => [l.level, (l.req as { url: string }).url, (l.res as { statusCode: number }).statusCode])).toEqual([
      [30, '/ok', 200],
      [40, '/bad?x=1', 400],
      [50, '/boom', 500],
    ]);
    expect(logged[0]).toMatchObject({ req: { id: expect.any(String), method: 'GET' }, responseTime: expect.any(Number) });
    await app.close();
  });
});
