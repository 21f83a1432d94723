import { EnvValidationError, envVar, loadEnv, trustProxyOption } from './env';

describe('loadEnv', () => {
  const shape = {
    PORT: envVar.port(3000),
    POOL_MAX: envVar.int(10, 1, 100),
    FLAG: envVar.bool(false),
    URL: envVar.url('nats://127.0.0.1:4222', ['nats']),
    NAMES: envVar.list(['a']),
  };

  it('applies defaults when variables are unset or empty', () => {
    expect(loadEnv(shape, { PORT: '' })).toEqual({
      PORT: 3000,
      POOL_MAX: 10,
      FLAG: false,
      URL: 'nats://127.0.0.1:4222',
      NAMES: ['a'],
    });
  });

  it('coerces and parses set variables', () => {
    const env = loadEnv(shape, { PORT: '8080', POOL_MAX: '25', FLAG: 'yes', NAMES: 'x, y,,z' });
    expect(env).toMatchObject({ PORT: 8080, POOL_MAX: 25, FLAG: true, NAMES: ['x', 'y', 'z'] });
  });

  it('lists every bad variable at once, not only the first', () => {
    let caught: unknown;
    try {
      loadEnv(shape, { PORT: 'eighty', POOL_MAX: '1000', FLAG: 'maybe', URL: 'http://x' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EnvValidationError);
    const problems = (caught as EnvValidationError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(['FLAG', 'POOL_MAX', 'PORT', 'URL']);
    expect((caught as Error).message).toContain('FLAG: must be one of true, false');
  });

  it('reads TRUST_PROXY as Fastify takes it: a flag, a hop count, or addresses', () => {
    expect(trustProxyOption('true')).toBe(true);
    expect(trustProxyOption('false')).toBe(false);
    expect(trustProxyOption('')).toBe(false);
    expect(trustProxyOption('2')).toBe(2);
    expect(trustProxyOption('loopback,10.0.0.0/8')).toBe('loopback,10.0.0.0/8');
  });
});
