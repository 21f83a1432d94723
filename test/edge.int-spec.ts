import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { Secp256k1HdWallet } from '@cosmjs/amino';
import fc from 'fast-check';
import { io as connectClient, type Socket } from 'socket.io-client';
import { repoRoot } from '@unstuck/config';
import { startBuiltApp, untilReady, writeChainsFile, type ServiceProcess } from '@unstuck/testing';
import { adr036SignDoc } from '../apps/api-gateway/src/auth/adr036';

/**
 * The public edge under hostile input, on the built gateway (with clearing-service behind it) and notifier against
 * the real servers: explicit cases for each refusal, then a property-based fuzz derived from the committed OpenAPI
 * document — every operation, every parameter and body field, hostile values — asserting a 4xx in the API's error
 * shape (never a 5xx, never a hang), and the same for the notifier's socket.io messages.
 */
const GATEWAY_PORT = 23460;
const CLEARING_PORT = 23461;
const NOTIFIER_PORT = 23464;
const BASE = `http://127.0.0.1:${GATEWAY_PORT}`;
/** Requests per parameter or body field in the fuzz (fixed seed: a failure replays). */
const RUNS = Number(process.env.EDGE_FUZZ_RUNS ?? 12);
const SEED = Number(process.env.EDGE_FUZZ_SEED ?? 20261206);

interface Answer {
  status: number;
  body: any;
  ms: number;
}

describe('the public edge under hostile input (built gateway, clearing-service and notifier, real servers)', () => {
  const processes: ServiceProcess[] = [];
  let wallet = '';
  let token = '';
  let sent = 0;

  /** One request; a hang is a failure (5 s), and the time is kept. */
  async function send(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const started = Date.now();
    sent += 1;
    const res = await fetch(`${BASE}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
      body: init.body,
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // left as text: the shape check below says so
    }
    return { status: res.status, body, ms: Date.now() - started };
  }
  const json = (method: string, path: string, body: unknown) => send(method, path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  /** A 4xx in the API's error shape, answered within a second. */
  function expectRefusal(a: Answer, what: string): void {
    if (a.status < 400 || a.status >= 500 || typeof a.body?.error?.code !== 'string' || typeof a.body?.error?.message !== 'string' || a.ms >= 1_000) {
      throw new Error(`${what}: expected a 4xx {"error":{"code","message"}} within 1 s, got ${a.status} in ${a.ms} ms: ${JSON.stringify(a.body).slice(0, 300)}`);
    }
  }
  /** Anything but a 5xx or a hang; an error answer in the API's shape. */
  function expectNoServerError(a: Answer, what: string): void {
    const shaped = a.status < 400 || (typeof a.body?.error?.code === 'string' && typeof a.body?.error?.message === 'string');
    if (a.status >= 500 || !shaped || a.ms >= 1_000) throw new Error(`${what}: got ${a.status} in ${a.ms} ms: ${JSON.stringify(a.body).slice(0, 300)}`);
  }

  /** Raw bytes to the gateway (what fetch will not send): the answer's status line and body. */
  function raw(text: string, waitMs = 3_000): Promise<{ status: number; body: any; ms: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connectTcp(GATEWAY_PORT, '127.0.0.1');
      let out = '';
      socket.setTimeout(waitMs, () => reject(new Error(`no answer within ${waitMs} ms to ${JSON.stringify(text.slice(0, 60))}`)));
      socket.on('data', (d) => (out += d.toString()));
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);
        const bodyText = out.split('\r\n\r\n').slice(1).join('\r\n\r\n');
        let body: unknown = bodyText;
        try {
          body = JSON.parse(bodyText);
        } catch {
          // not JSON
        }
        resolve({ status, body, ms: Date.now() - started });
      });
      socket.on('error', reject);
      socket.write(text);
    });
  }

  beforeAll(async () => {
    const chainsFile = writeChainsFile(['cosmoshub-4', 'osmosis-1'].map((id, i) => ({ chain_id: id, port: 29_657 + i * 10, start_height: 1 })));
    processes.push(startBuiltApp('clearing-service', { CLEARING_PORT: String(CLEARING_PORT), CHAINS_FILE: chainsFile }));
    processes.push(
      startBuiltApp('api-gateway', {
        GATEWAY_PORT: String(GATEWAY_PORT),
        CLEARING_URL: `http://127.0.0.1:${CLEARING_PORT}`,
        RATE_LIMIT_PER_IP: '1000000',
        RATE_LIMIT_PER_WALLET: '1000000',
        HTTP_REQUEST_TIMEOUT_MS: '1500',
      }),
    );
    processes.push(startBuiltApp('notifier', { NOTIFIER_PORT: String(NOTIFIER_PORT) }));
    await untilReady([`${BASE}/health/ready`, `http://127.0.0.1:${CLEARING_PORT}/health/ready`, `http://127.0.0.1:${NOTIFIER_PORT}/health/ready`], processes);
    const signer = await Secp256k1HdWallet.generate(24, { prefix: 'cosmos' });
    wallet = (await signer.getAccounts())[0]!.address;
    const challenge = (await json('POST', '/api/v1/auth/challenge', { address: wallet })).body;
    const { signature } = await signer.signAmino(wallet, adr036SignDoc(wallet, challenge.message));
    token = (await json('POST', '/api/v1/auth/verify', { address: wallet, nonce: challenge.nonce, signature })).body.token;
    expect(token).toBeTruthy();
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    process.stdout.write(`edge fuzz: ${sent} HTTP requests sent\n`);
  });

  const packet = (sequence: string) => ({ src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: 'channel-141', sequence });

  it('a sequence above int64 (a valid uint64) never reaches PostgreSQL: not found, and clearing stays available to everyone', async () => {
    for (let i = 0; i < 5; i++) {
      const quote = await json('POST', '/api/v1/clearing/quote', { packets: [packet('9223372036854775808')] });
      expect(quote).toMatchObject({ status: 400, body: { error: { code: 'packet_not_found' } } });
    }
    expect((await json('POST', '/api/v1/clearing/quote', { packets: [packet('18446744073709551616')] })).body.error).toMatchObject({
      code: 'invalid_body',
      message: expect.stringContaining('"packets.0.sequence" must be an unsigned 64-bit integer'),
    });
    expect(await send('GET', '/api/v1/packets/cosmoshub-4/channel-141/18446744073709551615')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    // Five refusals later the gateway's breaker to clearing-service is still closed: another quote is answered by it.
    expect((await json('POST', '/api/v1/clearing/quote', { packets: [packet('1')] })).body.error.code).toBe('packet_not_found');
  });

  it('refuses impossible and out-of-range times, and numbers that are not plain decimal integers', async () => {
    for (const from of ['2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z', '1999-12-31T23:59:59Z', '2100-01-01T00:00:01Z', '2026-01-01T00:00:60Z', '2026-13-01T00:00:00Z']) {
      const a = await send('GET', `/api/v1/stats/networks?from=${encodeURIComponent(from)}`);
      expectRefusal(a, from);
      expect(a.body.error.message).toContain('must be an RFC 3339 time that exists');
    }
    for (const limit of ['1e12', '0x10', '2.9', 'true', '1,5']) {
      const a = await send('GET', `/api/v1/stats/channels?limit=${encodeURIComponent(limit)}`);
      expect(a).toMatchObject({ status: 400, body: { error: { code: 'invalid_query_parameter', message: expect.stringContaining('"limit" must be an integer written in decimal digits') } } });
    }
  });

  it('takes JSON bodies only, nested at most 32 deep, and names missing and unknown fields', async () => {
    const deep = `{"address":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    expect(await json('POST', '/api/v1/auth/challenge', deep)).toMatchObject({ status: 400, body: { error: { code: 'invalid_json', message: expect.stringContaining('deeper than 32') } } });
    const form = await send('POST', '/api/v1/auth/challenge', { body: `address=${wallet}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
    expect((await json('POST', '/api/v1/auth/challenge', {})).body.error).toMatchObject({ code: 'invalid_body', message: 'body field "address" is missing' });
    expect((await json('POST', '/api/v1/auth/challenge', { address: wallet, admin: true, role: 'x' })).body.error).toMatchObject({ code: 'unknown_body_parameter', message: 'unknown body fields: admin, role' });
    // Without a wallet the stuck list is the network-wide one: every filter combination answers.
    for (const q of ['', '?chain_id=cosmoshub-4', '?channel=channel-141&kind=awaiting_ack', '?chain_id=osmosis-1&min_age_seconds=60', '?chain_id=cosmoshub-4&channel=channel-141&kind=timeout_pending&min_age_seconds=1']) {
      expect((await send('GET', `/api/v1/packets/stuck${q}`)).body.items).toEqual(expect.any(Array));
    }
    expect((await send('GET', `/api/v1/users/${wallet}/operations?sort_by=fee`)).body.error.message).toBe(
      'query parameter "sort_by" must be one of created_at, updated_at, total_fee, packet_count, status',
    );
    expect((await send('GET', '/api/v1/stats/platform?verbose=1')).body.error).toMatchObject({ code: 'unknown_query_parameter', message: 'unknown query parameter: verbose; this endpoint takes none' });
    const quote = await json('POST', '/api/v1/clearing/quote', { packets: Array.from({ length: 51 }, (_, i) => packet(String(i + 1))) });
    expect(quote.body.error.message).toBe('body field "packets" must have at most 50 items (stuck packets of the signed-in wallet, 1–50)');
  });

  it("answers what never reaches a route in the API's shape: long path parameters, bad percent-encoding, bare OPTIONS, no Host, unknown methods", async () => {
    expect((await send('GET', `/api/v1/packets/${'a'.repeat(300)}/channel-1/1`)).body.error).toMatchObject({ code: 'invalid_path_parameter', message: 'path parameter "chain_id" must be at most 64 characters long' });
    expectRefusal(await send('GET', '/api/v1/packets/%E0%A4%A/channel-1/1'), 'bad percent-encoding');
    expect((await send('OPTIONS', '/api/v1/stats/platform')).body.error.code).toBe('invalid_preflight');
    expect((await raw('GET /api/v1/stats/platform HTTP/1.1\r\nConnection: close\r\n\r\n')).body.error.code).toBe('missing_host');
    expect((await raw('FOO / HTTP/1.1\r\nHost: x\r\n\r\n')).body.error.code).toBe('malformed_request');
    expectRefusal(await send('PROPFIND', '/api/v1/stats/platform'), 'PROPFIND');
    expectRefusal(await send('GET', '/..%2f..%2fetc/passwd'), 'static traversal');
  });

  it('answers 408 to headers or a body that never finish, within HTTP_REQUEST_TIMEOUT_MS', async () => {
    const headers = await raw('GET /api/v1/stats/platform HTTP/1.1\r\nHost: x\r\n', 5_000);
    expect(headers).toMatchObject({ status: 408, body: { error: { code: 'request_timeout' } } });
    expect(headers.ms).toBeLessThan(3_000);
    const body = await raw('POST /api/v1/auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"addr', 5_000);
    expect(body).toMatchObject({ status: 408, body: { error: { code: 'request_timeout' } } });
    expect(body.ms).toBeLessThan(3_000);
  });

  describe('fuzz from the OpenAPI document', () => {
    const doc = JSON.parse(readFileSync(join(repoRoot(), 'docs/openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string; schema: Record<string, unknown> }>; requestBody?: { content: Record<string, { schema: any }> } }>>;
    };
    /** A valid value per path parameter name, so that each request breaks one thing only. */
    const validPath: Record<string, () => string> = {
      chain_id: () => 'cosmoshub-4',
      channel: () => 'channel-141',
      sequence: () => '1',
      token: () => 'A'.repeat(43),
      wallet: () => wallet,
    };
    /** A valid body per operation, likewise. */
    const validBody: Record<string, () => Record<string, unknown>> = {
      'POST /api/v1/auth/challenge': () => ({ address: wallet }),
      'POST /api/v1/auth/verify': () => ({ address: wallet, nonce: 'n', signature: { pub_key: { type: 'tendermint/PubKeySecp256k1', value: 'A'.repeat(44) }, signature: 'A'.repeat(88) } }),
      'POST /api/v1/clearing/quote': () => ({ packets: [packet('1')] }),
      'POST /api/v1/clearing/verify-payment': () => ({ token: 'A'.repeat(43), tx_hash: 'AB'.repeat(32) }),
    };
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ minLength: 65, maxLength: 1_100 }),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.constantFrom(
        '1e12', '0x10', '2.9', 'true', '-1', '0', '00', '+5', ' 5', 'NaN', 'Infinity', '18446744073709551616', '9223372036854775808',
        '', "' OR 1=1 --", '../../etc/passwd', '%00', '\u0000', '<script>', '2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z', '9999-12-31T23:59:59Z',
        'channel-99999999999999999999', 'cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq', '{"$gt":""}', '[]', 'null',
      ),
    );
    const value = fc.oneof(
      text,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(text, { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }),
      fc.integer({ min: 1, max: 31 }).map((d) => JSON.parse(`${'['.repeat(d)}${']'.repeat(d)}`) as unknown),
    );
    const sample = <T>(arb: fc.Arbitrary<T>, salt: number) => fc.sample(arb, { numRuns: RUNS, seed: SEED + salt });

    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));

    it.each(operations.map((o) => [`${o.method} ${o.path}`, o] as const))('%s: hostile parameters and body fields get a 4xx, never a 5xx', async (_, { method, path, op }) => {
      const params = op.parameters ?? [];
      const build = (override?: { name: string; where: string; value: string }) => {
        let url = path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(override?.where === 'path' && override.name === name ? override.value : validPath[name]!()));
        if (override?.where === 'query') url += `?${encodeURIComponent(override.name)}=${encodeURIComponent(override.value)}`;
        return url;
      };
      const key = `${method} ${path}`;
      let salt = 0;
      for (const p of params.filter((x) => x.in === 'path' || x.in === 'query')) {
        for (const v of sample(text, ++salt)) {
          const a = method === 'GET' ? await send('GET', build({ name: p.name, where: p.in, value: v })) : await json(method, build({ name: p.name, where: p.in, value: v }), validBody[key]?.() ?? {});
          expectNoServerError(a, `${key} ${p.in} ${p.name}=${JSON.stringify(v).slice(0, 80)}`);
        }
        // Never valid: a value of the wrong kind for the parameter.
        const wrong = p.schema.type === 'integer' ? '2.9' : 'x'.repeat(1_001);
        const a = method === 'GET' ? await send('GET', build({ name: p.name, where: p.in, value: wrong })) : await json(method, build({ name: p.name, where: p.in, value: wrong }), validBody[key]?.() ?? {});
        expectRefusal(a, `${key} ${p.in} ${p.name}=${wrong.slice(0, 20)}`);
      }
      // An unknown query parameter, on every route.
      expectRefusal(method === 'GET' ? await send('GET', `${build()}?zz_unknown=1`) : await json(method, `${build()}?zz_unknown=1`, validBody[key]?.() ?? {}), `${key} ?zz_unknown`);

      const schema = op.requestBody?.content['application/json']?.schema as { properties?: Record<string, unknown> } | undefined;
      if (!schema) return;
      for (const field of Object.keys(schema.properties ?? {})) {
        for (const v of sample(value, ++salt)) {
          const body = { ...validBody[key]!(), [field]: v };
          expectNoServerError(await json(method, build(), body), `${key} body ${field}=${JSON.stringify(v).slice(0, 80)}`);
        }
        // Never valid: the field missing, and a nested object in its place.
        const { [field]: _dropped, ...without } = validBody[key]!();
        expectRefusal(await json(method, build(), without), `${key} body without ${field}`);
        expectRefusal(await json(method, build(), { ...validBody[key]!(), [field]: { $ne: 1 } }), `${key} body ${field}={$ne:1}`);
      }
      // Whole bodies that are not the object the operation takes.
      for (const v of sample(value, ++salt)) expectNoServerError(await json(method, build(), v === undefined ? 'null' : v), `${key} body ${JSON.stringify(v).slice(0, 80)}`);
      for (const bodyText of ['', '{', '[1,2', 'null', '"x"', '{"a":1}{', `{${'"a":1,'.repeat(2_000)}"b":2}`]) expectRefusal(await json(method, build(), bodyText), `${key} body text ${bodyText.slice(0, 20)}`);
    }, 120_000);
  });

  it('socket.io: hostile payloads to subscribe, unsubscribe and replay are answered with an error, never break the connection', async () => {
    const socket: Socket = connectClient(`http://127.0.0.1:${NOTIFIER_PORT}`, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
    let emits = 0;
    try {
      const payloads = fc.sample(fc.oneof(fc.anything({ maxDepth: 3 }), fc.record({ topics: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 120 }) }), fc.record({ topic: fc.string(), since: fc.anything() })), {
        numRuns: RUNS * 5,
        seed: SEED,
      });
      for (const event of ['subscribe', 'unsubscribe', 'replay']) {
        for (const payload of payloads) {
          emits += 1;
          const answer = (await socket.timeout(2_000).emitWithAck(event, payload)) as Record<string, any>;
          expect(typeof answer).toBe('object');
          if (answer.error) {
            expect(answer.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
            expect(answer.error.code).not.toBe('internal_error');
          }
        }
      }
      expect(socket.connected).toBe(true);
    } finally {
      socket.disconnect();
      process.stdout.write(`edge fuzz: ${emits} socket.io messages sent\n`);
    }
  }, 120_000);
});
