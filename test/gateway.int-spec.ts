import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Secp256k1HdWallet } from '@cosmjs/amino';
import { toBech32 } from '@cosmjs/encoding';
import { Redis } from 'ioredis';
import { redisEnvShape } from '@unstuck/cache';
import { loadEnv } from '@unstuck/config';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { EventPublisher, JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import { REPO_ROOT, startBuiltApp, startServer, stopServer, sumSamples, uniqueSuffix, untilReady, waitFor, type ServiceProcess } from '@unstuck/testing';
import { adr036SignDoc } from '../apps/api-gateway/src/auth/adr036';

/**
 * The built api-gateway against the real servers: rows seeded straight into PostgreSQL, events published to
 * JetStream as ingest would, sign-in with signatures made here by @cosmjs.
 */
const PORT = 23310;
const BASE = `http://127.0.0.1:${PORT}`;

/** Sends bytes as they are (fetch will not send a broken request) and reads the answer until the server closes. */
function rawRequest(text: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(PORT, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.on('data', (d: string) => (answer += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}
const MNEMONIC_A = 'surround miss nominee dream gap cross assault thank captain prosper drop duty group candy wealth weather scale put';
const MNEMONIC_B = 'notice oak worry limit wrap speak medal online prefer cluster roof addict wrist behave treat actual wasp year salad speed social layer crew genius';

describe('api-gateway (built, against real PostgreSQL, Redis and NATS)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'gateway-test');
  const publisher = new EventPublisher(nats, 16);
  const suffix = uniqueSuffix();
  const chain = `gwtest-${suffix}`;
  let gateway: ServiceProcess;
  let walletA: Secp256k1HdWallet;
  let walletB: Secp256k1HdWallet;
  let addressA = '';
  let addressB = '';
  // A fresh block of client addresses per run: rate-limit counters of an earlier run may still be in Redis.
  let ip = randomInt(0, 15_000_000);
  /** Each test speaks from its own client address (the gateway trusts X-Forwarded-For from its proxy), so rate limits do not leak between tests. */
  const client = () => `10.${Math.floor(++ip / 62_500) % 250}.${Math.floor(ip / 250) % 250}.${ip % 250}`;

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${BASE}${path}`, { headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${BASE}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };

  /** A packet row as ingest would have written it; stuck when `kind` is given. */
  async function seedPacket(sequence: number, sender: string, kind: string | null, createdAt: Date) {
    const [{ id }] = await db.query<{ id: string }>(
      `INSERT INTO packet_keys (src_chain_id, src_port, src_channel, sequence, created_at) VALUES ($1, 'transfer', 'channel-7', $2, $3) RETURNING id::text`,
      [chain, sequence, createdAt],
    );
    await db.query(
      `INSERT INTO packet_flow (id, created_at, src_chain_id, src_port, src_channel, sequence, dst_chain_id, dst_port, dst_channel, status,
                                stuck_kind, stuck_since, sender, receiver, denom, amount, send_height, send_time, send_tx_hash, timeout_timestamp_ns)
       VALUES ($1, $2, $3, 'transfer', 'channel-7', $4, 'osmosis-1', 'transfer', 'channel-0', 'sent', $5, $6, $7,
               'osmo1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu', 'uatom', 1000, 10, $2, $8, $9)`,
      [id, createdAt, chain, sequence, kind, kind ? createdAt : null, sender, sequence.toString(16).padStart(64, '0').toUpperCase(), String(BigInt(createdAt.getTime() + 3_600_000) * 1_000_000n)],
    );
  }

  async function signIn(wallet: Secp256k1HdWallet, claimed?: string, ipAddress = client(), origin?: string) {
    const [account] = await wallet.getAccounts();
    const address = claimed ?? account!.address;
    const challenge = await post('/api/v1/auth/challenge', { address }, { 'x-forwarded-for': ipAddress, ...(origin ? { origin } : {}) });
    expect(challenge.status).toBe(200);
    const { signature } = await wallet.signAmino(account!.address, adr036SignDoc(address, challenge.body.message));
    return {
      challenge: challenge.body,
      signature,
      verify: (from = origin) => post('/api/v1/auth/verify', { address, nonce: challenge.body.nonce, signature }, { 'x-forwarded-for': ipAddress, ...(from ? { origin: from } : {}) }),
    };
  }

  beforeAll(async () => {
    await db.start();
    walletA = await Secp256k1HdWallet.fromMnemonic(MNEMONIC_A, { prefix: 'cosmos' });
    walletB = await Secp256k1HdWallet.fromMnemonic(MNEMONIC_B, { prefix: 'cosmos' });
    addressA = (await walletA.getAccounts())[0]!.address;
    addressB = (await walletB.getAccounts())[0]!.address;
    // Earlier runs' rows of these wallets would change the counts: start from none.
    await db.query(`DELETE FROM clearing_operations WHERE wallet_address = ANY($1)`, [[addressA, addressB]]);
    // ...and their cached stuck lists, which an earlier run's gateway left in Redis.
    const redis = new Redis(loadEnv(redisEnvShape, {}).REDIS_URL);
    await redis.del(...[addressA, addressB].map((a) => `unstuck:cache:v1:stuck-by-wallet-v2:${a}`));
    redis.disconnect();
    await db.query(`UPDATE packet_flow SET stuck_kind = NULL, stuck_since = NULL WHERE sender = ANY($1) AND stuck_kind IS NOT NULL`, [[addressA, addressB]]);
    const base = Date.now() - 3_600_000;
    for (let i = 1; i <= 3; i++) await seedPacket(i, addressA, 'awaiting_recv', new Date(base + i * 1000));
    for (let i = 4; i <= 8; i++) await seedPacket(i, addressA, null, new Date(base + i * 1000));
    await db.query(`INSERT INTO ingest_cursors (chain_id, height) VALUES ($1, 100) ON CONFLICT (chain_id) DO UPDATE SET height = 100`, [chain]);
    for (let i = 0; i < 5; i++) {
      await db.query(
        `INSERT INTO clearing_operations (wallet_address, chain_id, status, packet_count, fee_denom, base_fee, per_packet_fee, gas_fee, total_fee, payment_address, created_at)
         VALUES ($1, 'cosmoshub-4', $2, $3, 'uatom', 100, 10, 5, $4, 'cosmos1payment', now() - ($5 || ' minutes')::interval)`,
        [addressA, i % 2 ? 'completed' : 'quoted', i + 1, 100 + i * 10, String(i)],
      );
    }
    gateway = startBuiltApp('api-gateway', {
      GATEWAY_PORT: String(PORT),
      RATE_LIMIT_PER_IP: '40',
      AUTH_CHALLENGE_TTL_SECONDS: '2',
      AUTH_SITE_ORIGIN: 'https://unstuck.example',
      CORS_ORIGINS: 'https://unstuck.example,https://app.unstuck.example',
      BODY_LIMIT_BYTES: '4096',
      READ_YOUR_WRITES_SECONDS: '5',
    });
    await untilReady(`${BASE}/health/ready`, [gateway], 30_000);
  });

  afterAll(async () => {
    gateway?.kill('SIGTERM');
    await gateway?.exited;
    await db.query(`DELETE FROM ingest_cursors WHERE chain_id = $1`, [chain]);
    // The database outlives the test: its rows would show on a developer's dashboard.
    for (const table of ['packet_flow', 'packet_keys']) await db.query(`DELETE FROM ${table} WHERE src_chain_id = $1`, [chain]);
    await db.query(`DELETE FROM channel_performance WHERE chain_id = $1`, [chain]);
    await db.query(`DELETE FROM clearing_operations WHERE wallet_address = ANY($1)`, [[addressA, addressB]]);
    await nats.close();
    await db.stop();
  });

  describe('stuck packets of a wallet', () => {
    it('lists them oldest first with cursor pages, and refuses a tampered cursor', async () => {
      const h = { 'x-forwarded-for': client() };
      const first = await get(`/api/v1/packets/stuck?wallet=${addressA}&chain_id=${chain}&limit=2`, h);
      expect(first.status).toBe(200);
      expect(first.body!.items.map((p: any) => p.sequence)).toEqual(['1', '2']);
      expect(first.body!.items[0]).toMatchObject({ role: 'sender', stuck_kind: 'awaiting_recv', src_chain_id: chain });
      expect(first.body!.next_cursor).toEqual(expect.any(String));
      const second = await get(`/api/v1/packets/stuck?wallet=${addressA}&chain_id=${chain}&limit=2&cursor=${encodeURIComponent(first.body!.next_cursor)}`, h);
      expect(second.body!.items.map((p: any) => p.sequence)).toEqual(['3']);
      expect(second.body!.next_cursor).toBeNull();

      const tampered = first.body!.next_cursor.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A'));
      const bad = await get(`/api/v1/packets/stuck?wallet=${addressA}&chain_id=${chain}&limit=2&cursor=${encodeURIComponent(tampered)}`, h);
      expect(bad.status).toBe(400);
      expect(bad.body!.error.code).toBe('invalid_cursor');
      // A cursor is bound to its filters.
      const other = await get(`/api/v1/packets/stuck?wallet=${addressA}&limit=2&cursor=${encodeURIComponent(first.body!.next_cursor)}`, h);
      expect(other.status).toBe(400);

      // The whole list (three packets, over 1 KiB) is compressed for a client that takes brotli: the same JSON.
      const whole = await fetch(`${BASE}/api/v1/packets/stuck?wallet=${addressA}&chain_id=${chain}`, { headers: { ...h, 'accept-encoding': 'br' } });
      expect(whole.headers.get('content-encoding')).toBe('br');
      expect(whole.headers.get('vary')).toContain('Accept-Encoding');
      expect(((await whole.json()) as any).items.map((p: any) => p.sequence)).toEqual(['1', '2', '3']);
    });

    it('refuses malformed addresses and unknown prefixes with a message naming the parameter', async () => {
      const h = { 'x-forwarded-for': client() };
      const malformed = await get('/api/v1/packets/stuck?wallet=cosmos1notanaddress', h);
      expect(malformed.status).toBe(400);
      expect(malformed.body!.error).toMatchObject({ code: 'invalid_address' });
      expect(malformed.body!.error.message).toContain('"wallet"');
      // A valid bech32 string whose prefix no chain in the registry uses.
      const unknown = await get('/api/v1/packets/stuck?wallet=zzzz1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5v9ur6x', h);
      expect(unknown.status).toBe(400);
      expect(unknown.body!.error.code).toMatch(/invalid_address|unknown_address_prefix/);
      const negative = await get(`/api/v1/packets/stuck?wallet=${addressA}&min_age_seconds=-1`, h);
      expect(negative.status).toBe(400);
      expect(negative.body!.error.message).toContain('min_age_seconds');
    });

    it('without a wallet, lists every stuck packet network-wide: oldest stuck first, by chain, channel and kind, in cursor pages', async () => {
      const h = { 'x-forwarded-for': client() };
      const first = await get(`/api/v1/packets/stuck?chain_id=${chain}&channel=channel-7&limit=2`, h);
      expect(first.status).toBe(200);
      expect(first.body!.items.map((p: any) => p.sequence)).toEqual(['1', '2']);
      expect(first.body!.items[0]).toMatchObject({ src_chain_id: chain, src_channel: 'channel-7', stuck_kind: 'awaiting_recv', age_seconds: expect.any(Number) });
      expect(first.body!.items[0]).not.toHaveProperty('role');
      const second = await get(`/api/v1/packets/stuck?chain_id=${chain}&channel=channel-7&limit=2&cursor=${encodeURIComponent(first.body!.next_cursor)}`, h);
      expect(second.body!.items.map((p: any) => p.sequence)).toEqual(['3']);
      expect(second.body!.next_cursor).toBeNull();
      // A cursor belongs to its filters; a kind nobody here has gives an empty page; channel needs the network list.
      expect((await get(`/api/v1/packets/stuck?chain_id=${chain}&limit=2&cursor=${encodeURIComponent(first.body!.next_cursor)}`, h)).body!.error.code).toBe('invalid_cursor');
      expect((await get(`/api/v1/packets/stuck?chain_id=${chain}&kind=timeout_pending`, h)).body!.items).toEqual([]);
      expect((await get(`/api/v1/packets/stuck?wallet=${addressA}&channel=channel-7`, h)).body!.error.message).toContain('network-wide list only');
    });

    it('drops a packet from the cached list as soon as its acknowledgement event is processed', async () => {
      const h = { 'x-forwarded-for': client() };
      const url = `/api/v1/packets/stuck?wallet=${addressA}&chain_id=${chain}`;
      expect((await get(url, h)).body!.items.map((p: any) => p.sequence)).toEqual(['1', '2', '3']);
      // Ingest commits the acknowledgement (row and cursor)...
      await db.query(`UPDATE packet_flow SET status = 'acknowledged', stuck_kind = NULL, ack_time = now() WHERE src_chain_id = $1 AND sequence = 2`, [chain]);
      await db.query(`UPDATE ingest_cursors SET height = 101 WHERE chain_id = $1`, [chain]);
      // ...the cached list still shows it: only the event may change it...
      expect((await get(url, h)).body!.items.map((p: any) => p.sequence)).toEqual(['1', '2', '3']);
      // ...and the event arrives.
      await publisher.publish('packet.acknowledged', {
        packet: { src_chain_id: chain, src_port: 'transfer', src_channel: 'channel-7', sequence: '2' },
        dst_chain_id: 'osmosis-1',
        dst_port: 'transfer',
        dst_channel: 'channel-0',
        timeout_height: { revision_number: '0', revision_height: '0' },
        timeout_timestamp_ns: '0',
        chain_id: chain,
        height: '101',
        block_time: new Date().toISOString(),
        tx_hash: 'B'.repeat(64),
        msg_index: 0,
        relayer: 'cosmos1relayer',
        effected: true,
        ack_success: true,
      });
      // Polled from fresh addresses: the gateway's consumer may first drain what earlier suites published, and the
      // per-address limit (40 a minute here) must not be what the poll meets.
      await waitFor(async () => {
        const seqs = (await get(url, { 'x-forwarded-for': client() })).body!.items.map((p: any) => p.sequence);
        return seqs.length === 2 && !seqs.includes('2');
      }, 30_000, 100);
    });

    it('answers a wallet with no stuck packet from its index; lists its packet once packet.stuck is processed, and leaves the index when none is left', async () => {
      const h = { 'x-forwarded-for': client() };
      const walletC = toBech32('cosmos', randomBytes(20));
      const indexAnswers = async () => sumSamples(await (await fetch(`${BASE}/metrics`)).text(), 'gateway_stuck_index_answers_total');
      const url = `/api/v1/packets/stuck?wallet=${walletC}`;
      // Built in the background at start.
      await waitFor(async () => sumSamples(await (await fetch(`${BASE}/metrics`)).text(), 'gateway_stuck_index_wallets') >= 0, 10_000, 100);
      const before = await indexAnswers();
      expect((await get(url, h)).body!.items).toEqual([]);
      expect(await indexAnswers()).toBe(before + 1);
      // The stuck detector commits the packet as stuck...
      await seedPacket(9, walletC, 'awaiting_recv', new Date(Date.now() - 600_000));
      // ...and until its event is processed the wallet has none, as a cached list would say...
      expect((await get(url, h)).body!.items).toEqual([]);
      // ...then the event.
      await publisher.publish('packet.stuck', {
        packet: { src_chain_id: chain, src_port: 'transfer', src_channel: 'channel-7', sequence: '9' },
        kind: 'awaiting_recv',
        dst_chain_id: 'osmosis-1',
        dst_channel: 'channel-0',
        sender: walletC,
        receiver: 'osmo1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu',
        sent_at: new Date(Date.now() - 600_000).toISOString(),
        detected_at: new Date().toISOString(),
      });
      await waitFor(async () => (await get(url, { 'x-forwarded-for': client() })).body!.items.map((p: any) => p.sequence).join() === '9', 30_000, 100);

      // Relayed at last: the list loaded after the event is empty, and from then on the index answers for the wallet.
      await db.query(`UPDATE packet_flow SET status = 'received', stuck_kind = NULL, stuck_since = NULL WHERE src_chain_id = $1 AND sequence = 9`, [chain]);
      await publisher.publish('packet.unstuck', {
        packet: { src_chain_id: chain, src_port: 'transfer', src_channel: 'channel-7', sequence: '9' },
        kind: 'awaiting_recv',
        resolution: 'received',
        sender: walletC,
        resolved_at: new Date().toISOString(),
      });
      await waitFor(async () => (await get(url, { 'x-forwarded-for': client() })).body!.items.length === 0, 30_000, 100);
      const afterEmpty = await indexAnswers();
      expect((await get(url, h)).body!.items).toEqual([]);
      expect(await indexAnswers()).toBe(afterEmpty + 1);
    });
  });

  describe('packet stream', () => {
    it('pages newest first; an exact last page has no next cursor; a matching ETag is a 304', async () => {
      const h = { 'x-forwarded-for': client() };
      const all = await get(`/api/v1/packets/stream?wallet=${addressA}&chain_id=${chain}&limit=8`, h);
      expect(all.status).toBe(200);
      expect(all.body!.items.map((p: any) => p.sequence)).toEqual(['8', '7', '6', '5', '4', '3', '2', '1']);
      expect(all.body!.next_cursor).toBeNull();
      expect(all.headers.get('cache-control')).toBe('private, max-age=60');
      const etag = all.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"/);
      const again = await fetch(`${BASE}/api/v1/packets/stream?wallet=${addressA}&chain_id=${chain}&limit=8`, { headers: { ...h, 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');

      const page1 = await get(`/api/v1/packets/stream?wallet=${addressA}&chain_id=${chain}&limit=5`, h);
      expect(page1.body!.items).toHaveLength(5);
      const page2 = await get(`/api/v1/packets/stream?wallet=${addressA}&chain_id=${chain}&limit=5&cursor=${encodeURIComponent(page1.body!.next_cursor)}`, h);
      expect(page2.body!.items.map((p: any) => p.sequence)).toEqual(['3', '2', '1']);
      expect(page2.body!.next_cursor).toBeNull();
    });

    it('answers an empty listing, and 400 for bad limits, unknown parameters and a cursor it did not issue', async () => {
      const h = { 'x-forwarded-for': client() };
      const empty = await get(`/api/v1/packets/stream?wallet=${addressB}&chain_id=${chain}`, h);
      expect(empty.body).toMatchObject({ items: [], next_cursor: null });
      for (const q of ['limit=0', 'limit=201', 'limit=ten', 'sort=1', 'cursor=abc']) {
        const r = await get(`/api/v1/packets/stream?${q}`, h);
        expect([q, r.status]).toEqual([q, 400]);
        expect(r.body!.error.code).toEqual(expect.any(String));
      }
    });

    it("shows one packet's lifecycle; an unknown one is a 404", async () => {
      const h = { 'x-forwarded-for': client() };
      const one = await get(`/api/v1/packets/${chain}/channel-7/2`, h);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ sequence: '2', status: 'acknowledged', sender: addressA, relays: [] });
      expect((await get(`/api/v1/packets/${chain}/channel-7/999`, h)).status).toBe(404);
      expect((await get(`/api/v1/packets/${chain}/chan-7/1`, h)).status).toBe(400);
    });
  });

  describe('wallet sign-in (ADR-036) and wallet-scoped operations', () => {
    it('signs in with a signature made by @cosmjs; the nonce cannot be replayed', async () => {
      const { verify } = await signIn(walletA);
      const ok = await verify();
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ token_type: 'Bearer', address: addressA });
      const replay = await verify();
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('challenge_invalid');
    });

    it('names the site in the signed text (domain and origin, as Sign-In with Ethereum) and refuses another site’s pages', async () => {
      const plain = await signIn(walletA);
      expect(plain.challenge.message).toMatch(new RegExp(`^unstuck\\.example wants you to sign in to Unstuck with your Cosmos account:\n${addressA}\n`));
      expect(plain.challenge.message).toContain('\nURI: https://unstuck.example\nVersion: 1\nNonce: ');
      expect(plain.challenge.message).toMatch(/\nIssued At: \S+\nExpiration Time: \S+$/);
      // A page of another site asking, in its visitor's browser: refused before anything is issued.
      const foreign = await post('/api/v1/auth/challenge', { address: addressA }, { 'x-forwarded-for': client(), origin: 'https://unstuck-airdrop.example' });
      expect(foreign.status).toBe(403);
      expect(foreign.body.error).toMatchObject({ code: 'origin_not_allowed', message: expect.stringContaining('offered on https://unstuck.example only') });
      // Issued for one of the site's origins, the text names it; redeemed from another page it is refused, and spent.
      const app = await signIn(walletA, undefined, client(), 'https://app.unstuck.example');
      expect(app.challenge.message).toMatch(/^app\.unstuck\.example wants you/);
      expect(app.challenge.message).toContain('\nURI: https://app.unstuck.example\n');
      const elsewhere = await app.verify('https://unstuck.example');
      expect(elsewhere).toMatchObject({ status: 401, body: { error: { code: 'challenge_mismatch', message: expect.stringContaining('issued for https://app.unstuck.example') } } });
      expect((await app.verify()).status).toBe(401);
      const fromForeign = await (await signIn(walletA, undefined, client(), 'https://app.unstuck.example')).verify('https://unstuck-airdrop.example');
      expect(fromForeign.status).toBe(403);
      // From its own page, it signs in.
      expect((await (await signIn(walletA, undefined, client(), 'https://app.unstuck.example')).verify()).status).toBe(200);
    });

    it('refuses a signature by another key than the address claims', async () => {
      const { verify } = await signIn(walletB, addressA);
      const r = await verify();
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('wrong_signer');
    });

    it('refuses an expired challenge', async () => {
      const { verify } = await signIn(walletA);
      await new Promise((r) => setTimeout(r, 2_500));
      const r = await verify();
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('challenge_expired');
    });

    it("pages a wallet's own operations; refuses others', bad pages and SQL in sort_by", async () => {
      const ipAddress = client();
      const token = (await (await signIn(walletA, undefined, ipAddress)).verify()).body.token as string;
      const h = { authorization: `Bearer ${token}`, 'x-forwarded-for': ipAddress };
      const url = `/api/v1/users/${addressA}/operations`;

      const exact = await get(`${url}?page=1&page_size=5&sort_by=total_fee&sort_dir=asc`, h);
      expect(exact.status).toBe(200);
      expect(exact.body).toMatchObject({ page: 1, page_size: 5, total_items: 5, total_pages: 1, has_next: false, has_prev: false });
      expect(exact.body!.items.map((o: any) => o.total_fee)).toEqual(['100', '110', '120', '130', '140']);
      const second = await get(`${url}?page=2&page_size=3`, h);
      expect(second.body).toMatchObject({ total_pages: 2, has_next: false, has_prev: true });
      expect(second.body!.items).toHaveLength(2);

      const past = await get(`${url}?page=3&page_size=3`, h);
      expect(past.status).toBe(400);
      expect(past.body!.error).toMatchObject({ code: 'page_out_of_range' });
      const injected = await get(`${url}?sort_by=${encodeURIComponent('created_at; DROP TABLE clearing_operations')}`, h);
      expect(injected.status).toBe(400);
      expect(injected.body!.error.message).toContain('sort_by');
      expect((await get(`${url}?page_size=101`, h)).status).toBe(400);
      expect((await get(`${url}?page=0`, h)).status).toBe(400);

      expect((await get(url, { 'x-forwarded-for': ipAddress })).status).toBe(401);
      expect((await get(url, { authorization: 'Bearer not-a-token', 'x-forwarded-for': ipAddress })).status).toBe(401);
      const foreign = await get(`/api/v1/users/${addressB}/operations`, h);
      expect(foreign.status).toBe(403);

      const tokenB = (await (await signIn(walletB, undefined, ipAddress)).verify()).body.token as string;
      const none = await get(`/api/v1/users/${addressB}/operations`, { authorization: `Bearer ${tokenB}`, 'x-forwarded-for': ipAddress });
      expect(none.body).toMatchObject({ items: [], total_items: 0, total_pages: 0, has_next: false, has_prev: false });
    });
  });

  describe('protection', () => {
    it('answers 429 with Retry-After once an address passes its limit, and tells where it stands from half its quota on', async () => {
      const h = { 'x-forwarded-for': client() };
      const answers: Array<Awaited<ReturnType<typeof get>>> = [];
      for (let i = 0; i < 41; i++) answers.push(await get('/api/v1/stats/platform', h));
      expect(answers.slice(0, 40).map((a) => a.status)).toEqual(Array(40).fill(200));
      // The limit is 40: no X-RateLimit-* headers until 20 are left (the 20th request), then the count down.
      expect(answers.map((a) => a.headers.get('x-ratelimit-remaining'))).toEqual([...Array(19).fill(null), ...Array.from({ length: 20 }, (_, i) => String(20 - i)), '0', '0']);
      expect(answers[19]!.headers.get('x-ratelimit-limit')).toBe('40');
      const limited = await get('/api/v1/stats/platform', h);
      expect(limited.status).toBe(429);
      expect(limited.body!.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    });

    it('counts a request for an unknown path once, like any other', async () => {
      const h = { 'x-forwarded-for': client() };
      const statuses: number[] = [];
      for (let i = 0; i < 41; i++) statuses.push((await get(`/api/v1/no-such-endpoint-${i}`, h)).status);
      expect(statuses).toEqual([...Array(40).fill(404), 429]);
    });

    it('holds a limit across replicas: what one replica admitted counts at the other once they have synced', async () => {
      const port = PORT + 9;
      const other = startBuiltApp('api-gateway', { GATEWAY_PORT: String(port), RATE_LIMIT_PER_IP: '40', RATE_LIMIT_SYNC_MS: '50' });
      try {
        await untilReady(`http://127.0.0.1:${port}/health/ready`, [other], 30_000);
        const h = { 'x-forwarded-for': client() };
        const atOther = async () => (await fetch(`http://127.0.0.1:${port}/api/v1/stats/platform`, { headers: h })).status;
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) statuses.push((await get('/api/v1/stats/platform', h)).status);
        for (let i = 0; i < 20; i++) statuses.push(await atOther());
        expect(statuses).toEqual(Array(40).fill(200));
        // Each replica adds its counts to Redis every sync interval (100 ms here, 50 ms there) and learns the sum in
        // the answer. One more request to each (admitted or not: what a replica knows may be one sync old) makes both
        // send, and then both know of all 42. Each has admitted only 20 or 21 of its own 40, and refuses.
        await sleep(300);
        await get('/api/v1/stats/platform', h);
        await atOther();
        await sleep(300);
        const limited = await get('/api/v1/stats/platform', h);
        expect(limited.status).toBe(429);
        expect(limited.body!.error.code).toBe('rate_limited');
        expect(await atOther()).toBe(429);
      } finally {
        other.kill('SIGTERM');
        await other.exited;
      }
    });

    it('believes X-Forwarded-For only from its trusted proxies: a client calling directly cannot dodge the limit by naming other addresses', async () => {
      const port = PORT + 8;
      // This instance trusts one proxy, which the test is not: the caller is 127.0.0.1 whatever the header says.
      const direct = startBuiltApp('api-gateway', { GATEWAY_PORT: String(port), RATE_LIMIT_PER_IP: '5', TRUST_PROXY: '10.9.9.9' });
      try {
        await untilReady(`http://127.0.0.1:${port}/health/ready`, [direct], 30_000);
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++) statuses.push((await fetch(`http://127.0.0.1:${port}/api/v1/stats/platform`, { headers: { 'x-forwarded-for': client() } })).status);
        expect(statuses).toContain(429);
        expect(statuses.slice(statuses.indexOf(429))).toEqual(Array(6 - statuses.indexOf(429)).fill(429));
      } finally {
        direct.kill('SIGTERM');
        await direct.exited;
      }
    });

    it('answers bad bodies with JSON errors: invalid JSON, oversized, unknown fields', async () => {
      const h = { 'x-forwarded-for': client() };
      const invalid = await post('/api/v1/auth/challenge', '{"address":', h);
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('invalid_json');
      const big = await post('/api/v1/auth/challenge', { address: 'x'.repeat(5000) }, h);
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('payload_too_large');
      const extra = await post('/api/v1/auth/challenge', { address: addressA, admin: true }, h);
      expect(extra.status).toBe(400);
      expect(extra.body.error.message).toContain('admin');
    });

    it("answers what Fastify and Node's parser refuse in the API's error shape, with the gateway's own messages", async () => {
      const xml = await fetch(`${BASE}/api/v1/auth/challenge`, { method: 'POST', body: '<address/>', headers: { 'content-type': 'application/xml', 'x-forwarded-for': client() } });
      expect(xml.status).toBe(415);
      expect(await xml.json()).toEqual({ error: { code: 'unsupported_media_type', message: 'send the request body as application/json' } });

      // Requests no fetch would send: Node's HTTP parser refuses them before Fastify routes anything.
      const badLength = await rawRequest(`POST /api/v1/auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12abc\r\n\r\n{}`);
      expect(badLength.status).toBe(400);
      expect(badLength.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(badLength.body)).toEqual({ error: { code: 'bad_content_length', message: 'the Content-Length header is not a number of bytes' } });
      const badHeader = await rawRequest(`GET /api/v1/stats/platform HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n`);
      expect(badHeader.status).toBe(400);
      expect(JSON.parse(badHeader.body).error).toMatchObject({ code: 'malformed_request', message: expect.stringMatching(/^the request is not valid HTTP: \S/) });

      // Nest no longer replaces the gateway's error handler at start (Fastify warned of the override).
      expect(gateway.output()).not.toContain('FSTWRN004');
    });

    it('compresses large responses and sets security headers', async () => {
      const res = await fetch(`${BASE}/docs/json`, { headers: { 'accept-encoding': 'gzip', 'x-forwarded-for': client() } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('keeps answering with Redis stopped, and with the replica stopped', async () => {
      const h = { 'x-forwarded-for': client() };
      const url = `/api/v1/packets/stuck?wallet=${addressA}&chain_id=${chain}`;
      await stopServer('redis');
      try {
        expect((await get(url, h)).status).toBe(200);
        expect((await get('/api/v1/stats/networks', h)).status).toBe(200);
        expect((await get(`/api/v1/packets/stream?wallet=${addressA}&limit=3`, h)).status).toBe(200);
      } finally {
        await startServer('redis');
      }
      await stopServer('replica');
      try {
        expect((await get(`/api/v1/packets/stream?chain_id=${chain}&limit=3`, h)).status).toBe(200);
        expect((await get(`/api/v1/stats/relayers?chain_id=${chain}`, h)).status).toBe(200);
        expect((await get(`/api/v1/packets/${chain}/channel-7/1`, h)).status).toBe(200);
      } finally {
        await startServer('replica');
      }
    });
  });

  it('answers 503 with Retry-After when the database is down, and opens its breaker instead of piling up timeouts', async () => {
    await stopServer('replica');
    await stopServer('primary');
    try {
      // Uncached reads (each page of the stream is read from the database), each from its own address (the rate
      // limit is not what this tests), until the breaker opens: it judges the share of failures over its last 10 s,
      // which hold however many reads the tests before this one made.
      const answers: Array<Awaited<ReturnType<typeof get>>> = [];
      const breakerOpen = async () => /^circuit_breaker_state\{[^}]*breaker="database"[^}]*\} 2$/m.test(await (await fetch(`${BASE}/metrics`)).text());
      for (let i = 0; i < 300 && !(await breakerOpen()); i++) answers.push(await get(`/api/v1/packets/stream?chain_id=${chain}&limit=${(i % 200) + 1}`, { 'x-forwarded-for': client() }));
      expect(await breakerOpen()).toBe(true);
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.body!.error.code).toBe('database_unavailable');
        expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Open: answered at once, without trying the database, saying when to retry.
      const fast = await get(`/api/v1/packets/stream?chain_id=${chain}&limit=7`, { 'x-forwarded-for': client() });
      expect(fast.status).toBe(503);
      expect(fast.body!.error.message).toMatch(/retry in \d+ s/);
    } finally {
      await startServer('primary');
      await startServer('replica');
    }
    // Each probe from its own address: the rate limit (40 per window) must not be what the wait runs into.
    const statuses: number[] = [];
    const recovered = await waitFor(async () => {
      statuses.push((await get(`/api/v1/packets/stream?chain_id=${chain}&limit=1`, { 'x-forwarded-for': client() })).status);
      return statuses.at(-1) === 200;
    }, 30_000, 500).catch(() => false);
    expect({ recovered, lastStatuses: statuses.slice(-5) }).toEqual({ recovered: true, lastStatuses: expect.arrayContaining([200]) });
  }, 60_000);

  it('serves the OpenAPI document the code generates, and the committed docs/openapi.json is that document', async () => {
    const live = await get('/docs/json', { 'x-forwarded-for': client() });
    expect(live.status).toBe(200);
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8'));
    // `npm run docs:openapi` rewrites docs/openapi.json; a difference means the committed spec is stale.
    expect(live.body).toEqual(committed);
  });
});
