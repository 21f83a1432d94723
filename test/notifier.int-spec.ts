import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { io as connectClient, type Socket } from 'socket.io-client';
import { DEV_SECRET, WalletTokens } from '@unstuck/auth';
import { loadEnv } from '@unstuck/config';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { EventPublisher, JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import { packetSentFixture, startBuiltApp, uniqueSuffix, untilReady, waitFor, type ServiceProcess } from '@unstuck/testing';

/**
 * Two built notifier processes against the real Redis, NATS and PostgreSQL, driven by socket.io-client; events are
 * published to JetStream as the other services would.
 */
const PORTS = [23320, 23321];
const ADDRESS_A = 'cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu';
const ADDRESS_B = 'cosmos1qurswpc8qurswpc8qurswpc8qurswpc8nn86qp';

interface Batch {
  room: string;
  messages: Array<{ seq: number; event: string; data: any; published_at: string }>;
}

describe('notifier (two built instances, socket.io-client, real Redis, NATS and PostgreSQL)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'notifier-test');
  const publisher = new EventPublisher(nats, 16);
  const tokens = new WalletTokens(DEV_SECRET);
  const chain = `nftest-${uniqueSuffix()}`;
  const instances: ServiceProcess[] = [];
  const sockets: Socket[] = [];
  const operations: string[] = [];
  let sequence = 0;
  let ipCounter = randomInt(0, 15_000_000);
  const newIp = () => `10.${Math.floor(++ipCounter / 62_500) % 250}.${Math.floor(ipCounter / 250) % 250}.${ipCounter % 250}`;
  const tokenFor = (address: string) => tokens.issue(address, new Date(Date.now() + 600_000));

  /** Connects to one instance; resolves once connected, rejects with the server's refusal. */
  function connect(port: number, options: { token?: string; ip?: string } = {}): Promise<Socket & { batches: Batch[] }> {
    const socket = connectClient(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: options.token ? { token: options.token } : {},
      extraHeaders: { 'x-forwarded-for': options.ip ?? newIp() },
    }) as Socket & { batches: Batch[] };
    socket.batches = [];
    socket.on('batch', (b: Batch) => socket.batches.push(b));
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (e) => reject(e));
    });
  }

  /** Whether a connection from `ip` is admitted now (a refusal is false, not an error). */
  const connects = (port: number, ip: string) => connect(port, { ip }).then(() => true, () => false);

  const request = <T = any>(socket: Socket, event: string, payload: unknown): Promise<T> => socket.timeout(5_000).emitWithAck(event, payload) as Promise<T>;

  const publishSent = (bytes = 0) => {
    sequence += 1;
    return publisher.publish(
      'packet.sent',
      packetSentFixture(chain, sequence, {
        packet: { src_chain_id: chain, src_port: 'transfer', src_channel: 'channel-7', sequence: String(sequence) },
        block_time: new Date().toISOString(),
        transfer: { denom: 'uatom', amount: '1', sender: ADDRESS_A, receiver: 'osmo1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu' },
        ...(bytes > 0 ? { data_hex: randomBytes(bytes / 2).toString('hex') } : {}),
      }),
    );
  };

  const eventsIn = (s: { batches: Batch[] }, room: string) => s.batches.filter((b) => b.room === room).flatMap((b) => b.messages);
  const metric = async (port: number, line: RegExp) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return text.split('\n').filter((l) => line.test(l)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };

  beforeAll(async () => {
    await db.start();
    for (const port of PORTS) {
      instances.push(
        startBuiltApp('notifier', {
          NOTIFIER_PORT: String(port),
          NOTIFIER_MAX_CONNECTIONS_PER_IP: '3',
          // Counts of a dead instance are freed within 1.5 s (heartbeat every 0.5 s).
          NOTIFIER_CONNECTION_TTL_MS: '1500',
          NOTIFIER_REPLAYS_PER_MINUTE: '5',
          NOTIFIER_MAX_BUFFERED_BYTES: String(256 * 1024),
          NOTIFIER_BATCH_MS: '50',
          NOTIFIER_BUFFER_CHECK_MS: '50',
        }),
      );
    }
    await untilReady(PORTS.map((port) => `http://127.0.0.1:${port}/health/ready`), instances, 30_000);
  }, 60_000);

  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });

  afterAll(async () => {
    for (const p of instances) p.kill('SIGTERM');
    await Promise.all(instances.map((p) => p.exited));
    await nats.close();
    // The database outlives the test: its rows would show on a developer's dashboard.
    await db.query(`DELETE FROM clearing_operations WHERE id = ANY($1::uuid[])`, [operations]);
    await db.stop();
  });

  it('subscribes and unsubscribes; refuses unknown topics with a reason', async () => {
    const client = await connect(PORTS[0]!);
    const answer = await request(client, 'subscribe', { topics: ['packets:live', `channel:${chain}/channel-7`, 'packets:dead'] });
    expect(answer.subscribed.map((s: any) => s.topic)).toEqual(['packets:live', `channel:${chain}/channel-7`]);
    expect(answer.refused).toEqual([{ topic: 'packets:dead', code: 'invalid_topic', message: expect.stringContaining('unknown topic') }]);

    await publishSent();
    await waitFor(() => eventsIn(client, `channel:${chain}/channel-7`).length === 1 && eventsIn(client, 'packets:live').some((m) => m.data.packet.src_chain_id === chain), 10_000);
    const [message] = eventsIn(client, `channel:${chain}/channel-7`);
    expect(message).toMatchObject({ event: 'packet.sent', seq: expect.any(Number), data: { packet: { sequence: String(sequence) } } });

    expect(await request(client, 'unsubscribe', { topics: [`channel:${chain}/channel-7`] })).toEqual({ unsubscribed: [`channel:${chain}/channel-7`] });
    await publishSent();
    await waitFor(() => eventsIn(client, 'packets:live').some((m) => m.data.packet.sequence === String(sequence)), 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(eventsIn(client, `channel:${chain}/channel-7`)).toHaveLength(1);
  });

  it("refuses another wallet's room, and wallet rooms to anonymous clients", async () => {
    const signedIn = await connect(PORTS[0]!, { token: await tokenFor(ADDRESS_A) });
    const answer = await request(signedIn, 'subscribe', { topics: [`wallet:${ADDRESS_A}`, `wallet:${ADDRESS_B}`, 'wallet:cosmos1nope'] });
    expect(answer.subscribed).toEqual([{ topic: `wallet:${ADDRESS_A}`, room: `wallet:${ADDRESS_A}` }]);
    expect(answer.refused.map((r: any) => r.code)).toEqual(['forbidden', 'invalid_address']);

    const anonymous = await connect(PORTS[0]!);
    expect((await request(anonymous, 'subscribe', { topics: [`wallet:${ADDRESS_A}`] })).refused[0].code).toBe('authentication_required');
    await expect(connect(PORTS[0]!, { token: 'not-a-token' })).rejects.toThrow(/invalid_token/);

    // The wallet's own room gets its packets.
    await publishSent();
    await waitFor(() => eventsIn(signedIn, `wallet:${ADDRESS_A}`).some((m) => m.data.packet.sequence === String(sequence)), 10_000);
  });

  it('limits connections per client address across instances', async () => {
    const ip = newIp();
    const held = [await connect(PORTS[0]!, { ip }), await connect(PORTS[1]!, { ip }), await connect(PORTS[0]!, { ip })];
    await expect(connect(PORTS[1]!, { ip })).rejects.toThrow(/too_many_connections/);
    held[0]!.disconnect();
    await waitFor(() => connects(PORTS[1]!, ip), 10_000, 200);
  });

  it('limits an IPv6 client by its /64, whatever addresses of it the connections come from', async () => {
    const prefix = `2001:db8:${randomInt(1, 0xffff).toString(16)}:${randomInt(1, 0xffff).toString(16)}`;
    for (let i = 1; i <= 3; i++) await connect(PORTS[i % 2]!, { ip: `${prefix}::${i}` });
    await expect(connect(PORTS[0]!, { ip: `${prefix}:4:5:6:7` })).rejects.toThrow(/too_many_connections/);
    // Another /64 is another client.
    await connect(PORTS[0]!, { ip: `${prefix.replace(/:[0-9a-f]+$/, '')}:ffff::1` });
  });

  it('an instance killed (kill -9) frees its clients’ connection counts within its TTL, and refused attempts do not extend the lockout', async () => {
    const port = 23329;
    const doomed = startBuiltApp('notifier', { NOTIFIER_PORT: String(port), NOTIFIER_MAX_CONNECTIONS_PER_IP: '3', NOTIFIER_CONNECTION_TTL_MS: '1500' });
    try {
      await untilReady(`http://127.0.0.1:${port}/health/ready`, [doomed], 30_000);
      const ip = newIp();
      for (let i = 0; i < 3; i++) await connect(port, { ip });
      await expect(connect(PORTS[0]!, { ip })).rejects.toThrow(/too_many_connections/);
      doomed.kill('SIGKILL');
      await doomed.exited;
      // Attempts every 100 ms meanwhile: each refused one writes nothing, so the counts still lapse on time.
      const started = Date.now();
      await waitFor(() => connects(PORTS[0]!, ip), 10_000, 100);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      doomed.kill('SIGKILL');
    }
  }, 60_000);

  it('coalesces a burst for one room into a few batches, in order', async () => {
    const client = await connect(PORTS[0]!);
    const room = `channel:${chain}/channel-7`;
    await request(client, 'subscribe', { topics: [room] });
    const first = sequence + 1;
    await Promise.all(Array.from({ length: 30 }, () => publishSent()));
    await waitFor(() => eventsIn(client, room).length === 30, 10_000);
    const batches = client.batches.filter((b) => b.room === room);
    expect(batches.length).toBeLessThanOrEqual(5);
    expect(eventsIn(client, room).map((m) => Number(m.data.packet.sequence)).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => first + i));
  });

  it('delivers a published event through both instances', async () => {
    const a = await connect(PORTS[0]!);
    const b = await connect(PORTS[1]!);
    await request(a, 'subscribe', { topics: [`channel:${chain}/channel-7`] });
    await request(b, 'subscribe', { topics: [`channel:${chain}/channel-7`] });
    await publishSent();
    await waitFor(() => eventsIn(a, `channel:${chain}/channel-7`).length === 1 && eventsIn(b, `channel:${chain}/channel-7`).length === 1, 10_000);
    expect(eventsIn(a, `channel:${chain}/channel-7`)[0]!.seq).toBe(eventsIn(b, `channel:${chain}/channel-7`)[0]!.seq);
    await new Promise((r) => setTimeout(r, 300));
    expect(eventsIn(a, `channel:${chain}/channel-7`)).toHaveLength(1); // once, not once per instance
  });

  it('replays the clearing updates a client missed during a long disconnect', async () => {
    const token = randomBytes(24).toString('base64url');
    const hash = createHash('sha256').update(token).digest('hex');
    const operationId = randomUUID();
    operations.push(operationId);
    await db.query(
      `INSERT INTO clearing_operations (id, wallet_address, chain_id, status, packet_count, fee_denom, base_fee, per_packet_fee, gas_fee, total_fee, payment_address)
       VALUES ($1, $2, 'cosmoshub-4', 'quoted', 1, 'uatom', 100, 10, 5, 115, 'cosmos1payment')`,
      [operationId, ADDRESS_A],
    );
    await db.query(`INSERT INTO clearing_tokens (operation_id, token_hash, wallet_address, expires_at) VALUES ($1, $2, $3, now() + interval '5 minutes')`, [operationId, hash, ADDRESS_A]);
    const update = (version: number, state: string, previous: string) =>
      publisher.publish('clearing.operation_updated', {
        operation_id: operationId,
        token_hash: hash,
        wallet: ADDRESS_A,
        state: state as never,
        previous_state: previous as never,
        version,
        progress: { total: 1, cleared: state === 'completed' ? 1 : 0 },
        packets: [],
        updated_at: new Date().toISOString(),
      });

    // Another wallet cannot follow this operation.
    const stranger = await connect(PORTS[0]!, { token: await tokenFor(ADDRESS_B) });
    expect((await request(stranger, 'subscribe', { topics: [`clearing:${token}`] })).refused[0].code).toBe('forbidden');

    const owner = await connect(PORTS[0]!, { token: await tokenFor(ADDRESS_A) });
    const answer = await request(owner, 'subscribe', { topics: [`clearing:${token}`] });
    expect(answer.subscribed).toEqual([{ topic: `clearing:${token}`, room: `clearing:${hash}` }]);
    await update(2, 'paid', 'quoted');
    await waitFor(() => eventsIn(owner, `clearing:${hash}`).length === 1, 10_000);
    const lastSeen = eventsIn(owner, `clearing:${hash}`)[0]!.seq;
    owner.disconnect();

    await update(3, 'clearing', 'paid');
    await update(4, 'completed', 'clearing');

    const back = await connect(PORTS[1]!, { token: await tokenFor(ADDRESS_A) });
    expect((await request(back, 'replay', { topic: `clearing:${token}`, since: lastSeen })).error.code).toBe('not_subscribed');
    await request(back, 'subscribe', { topics: [`clearing:${token}`] });
    const replay = await request(back, 'replay', { topic: `clearing:${token}`, since: lastSeen });
    expect(replay.complete).toBe(true);
    expect(replay.messages.map((m: any) => [m.data.state, m.data.version])).toEqual([
      ['clearing', 3],
      ['completed', 4],
    ]);
    expect(replay.messages[0].seq).toBeGreaterThan(lastSeen);

    // Past the stream's end: nothing, and the answer says so (not old events).
    const beyond = await request(back, 'replay', { topic: `clearing:${token}`, since: 1e12 });
    expect(beyond).toMatchObject({ messages: [], complete: true, notice: expect.stringContaining('beyond the last event sent'), stream_last_seq: expect.any(Number) });
  });

  it('answers one replay at a time per socket, at most NOTIFIER_REPLAYS_PER_MINUTE a minute', async () => {
    const client = await connect(PORTS[0]!);
    await request(client, 'subscribe', { topics: ['packets:live'] });
    const [first, second] = await Promise.all([request(client, 'replay', { topic: 'packets:live', since: 0 }), request(client, 'replay', { topic: 'packets:live', since: 0 })]);
    expect(first.messages).toBeDefined();
    expect(second.error).toMatchObject({ code: 'replay_in_progress' });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await request(client, 'replay', { topic: 'packets:live', since: 1e12 }));
    // The first replay above counted and the refused one did not: four more fit the budget of 5, the fifth is refused.
    expect(answers.filter((a) => a.error?.code === 'rate_limited')).toHaveLength(1);
    expect(answers.at(-1).error).toMatchObject({ code: 'rate_limited', retry_after_ms: expect.any(Number) });
  });

  it('disconnects a client that stops reading once its send buffer passes the limit', async () => {
    const before = (await metric(PORTS[0]!, /^notifier_clients_dropped_total\{.*reason="send_buffer_full"/)) + (await metric(PORTS[1]!, /^notifier_clients_dropped_total\{.*reason="send_buffer_full"/));
    const slow = await connect(PORTS[0]!);
    await request(slow, 'subscribe', { topics: [`channel:${chain}/channel-7`] });
    let disconnected = '';
    slow.on('disconnect', (reason) => (disconnected = reason));
    // Stop reading: the server's writes back up into its own buffer once the kernel's are full.
    const raw = (slow.io.engine as any).transport.ws._socket as import('node:net').Socket;
    raw.pause();
    for (let i = 0; i < 150; i++) await publishSent(64 * 1024);
    await waitFor(
      async () =>
        (await metric(PORTS[0]!, /^notifier_clients_dropped_total\{.*reason="send_buffer_full"/)) + (await metric(PORTS[1]!, /^notifier_clients_dropped_total\{.*reason="send_buffer_full"/)) > before,
      20_000,
      200,
    );
    raw.resume();
    await waitFor(() => disconnected !== '', 10_000);
  });
});
