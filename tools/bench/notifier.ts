import { fork } from 'node:child_process';
import { join } from 'node:path';
import { io as connectClient, type Socket } from 'socket.io-client';
import { loadEnv } from '@unstuck/config';
import { EventPublisher, JetStreamConnection, natsEnvShape, type OutgoingEvent } from '@unstuck/messaging';
import { packetSentFixture, REPO_ROOT, startBuiltApp, type ServiceProcess } from '@unstuck/testing';
import { BENCH_ENV, runBench, metricsText, percentile, sleep, sumSamples, untilUp } from './harness';
import { recordBenchmark } from './report';

/**
 * npm run bench:notifier — CLIENTS socket.io clients on one notifier process, each following one of TOPICS channel
 * topics, while RATE events/s are published to JetStream: delivery latency (publish → client) p50/p99 and memory per
 * connection; then the same clients and rate against a bare socket.io broadcast server, in the same run.
 */
const NOTIFIER_PORT = 23330;
const BARE_PORT = 23398;
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 5000);
const TOPICS = Number(process.env.BENCH_TOPICS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CHAIN = 'bench';

interface Run {
  p50: number;
  p99: number;
  received: number;
  bytesPerConnection: number;
}

async function connectAll(port: number, onEvent: (socket: Socket) => void): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let start = 0; start < CLIENTS; start += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, CLIENTS - start) }, (_, j) => {
        const i = start + j;
        const socket = connectClient(`http://127.0.0.1:${port}`, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          extraHeaders: { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        });
        return new Promise<Socket>((resolve, reject) => {
          socket.once('connect', async () => {
            await socket.timeout(30_000).emitWithAck('subscribe', { topics: [`channel:${CHAIN}/channel-${i % TOPICS}`] });
            onEvent(socket);
            resolve(socket);
          });
          socket.once('connect_error', reject);
        });
      }),
    );
    sockets.push(...batch);
  }
  return sockets;
}

async function measureNotifier(): Promise<Run> {
  const notifier: ServiceProcess = startBuiltApp('notifier', {
    ...BENCH_ENV,
    NOTIFIER_PORT: String(NOTIFIER_PORT),
    LOG_LEVEL: 'error',
    NOTIFIER_MAX_CONNECTIONS_PER_IP: '1000000',
  });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, BENCH_ENV), 'bench-notifier');
  try {
    await untilUp(`http://127.0.0.1:${NOTIFIER_PORT}/health/ready`, 30_000);
    const rss = async () => sumSamples(await metricsText(NOTIFIER_PORT), 'process_resident_memory_bytes');
    const before = await rss();
    const latencies: number[] = [];
    let measuring = false;
    const sockets = await connectAll(NOTIFIER_PORT, (s) =>
      s.on('batch', (b: { messages: Array<{ data: { block_time: string } }> }) => {
        if (!measuring) return;
        const now = Date.now();
        for (const m of b.messages) latencies.push(now - Date.parse(m.data.block_time));
      }),
    );
    await sleep(2_000);
    const after = await rss();
    process.stdout.write(`notifier: ${sockets.length} clients connected; RSS ${Math.round(before / 2 ** 20)} → ${Math.round(after / 2 ** 20)} MiB\n`);

    const publisher = new EventPublisher(nats, 256);
    let seq = 0;
    const tick = async () => {
      const events: OutgoingEvent[] = [];
      for (let i = 0; i < RATE / 10; i++) {
        seq += 1;
        events.push({
          event: 'packet.sent',
          payload: packetSentFixture(CHAIN, seq, {
            packet: { src_chain_id: CHAIN, src_port: 'transfer', src_channel: `channel-${seq % TOPICS}`, sequence: String(seq) },
            block_time: new Date().toISOString(),
          }),
        });
      }
      await publisher.publishBatch(events);
    };
    measuring = true;
    const until = Date.now() + SECONDS * 1000;
    while (Date.now() < until) {
      const started = Date.now();
      await tick();
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
    await sleep(2_000);
    measuring = false;
    for (const s of sockets) s.disconnect();
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), received: latencies.length, bytesPerConnection: (after - before) / sockets.length };
  } finally {
    await nats.close();
    notifier.kill('SIGTERM');
    await notifier.exited;
  }
}

async function measureBare(): Promise<Run> {
  const bare = fork(join(REPO_ROOT, 'dist', 'tools', 'bench', 'bare-socketio.js'), [], { env: { ...process.env, PORT: String(BARE_PORT) } });
  try {
    await new Promise<void>((resolve) => bare.once('message', () => resolve()));
    const memory = () =>
      new Promise<number>((resolve) => {
        bare.once('message', (m: { rss: number }) => resolve(m.rss));
        bare.send({ cmd: 'memory' });
      });
    const before = await memory();
    const latencies: number[] = [];
    let measuring = false;
    const sockets = await connectAll(BARE_PORT, (s) =>
      s.on('event', (e: { t: number }) => {
        if (measuring) latencies.push(Date.now() - e.t);
      }),
    );
    await sleep(2_000);
    const after = await memory();
    measuring = true;
    bare.send({ cmd: 'start', rate: RATE, topics: TOPICS });
    await sleep(SECONDS * 1000);
    bare.send({ cmd: 'stop' });
    await sleep(1_000);
    measuring = false;
    for (const s of sockets) s.disconnect();
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), received: latencies.length, bytesPerConnection: (after - before) / sockets.length };
  } finally {
    bare.kill('SIGTERM');
  }
}

async function benchmark(): Promise<void> {
  const n = await measureNotifier();
  process.stdout.write(`notifier: ${n.received} deliveries, p50 ${n.p50} ms, p99 ${n.p99} ms, ${Math.round(n.bytesPerConnection / 1024)} KiB per connection\n`);
  await sleep(2_000);
  const b = await measureBare();
  process.stdout.write(`bare socket.io: ${b.received} deliveries, p50 ${b.p50} ms, p99 ${b.p99} ms, ${Math.round(b.bytesPerConnection / 1024)} KiB per connection\n`);
  const expected = RATE * SECONDS * (CLIENTS / TOPICS);
  recordBenchmark(CLIENTS === 5000 ? 'notifier' : `notifier, ${CLIENTS.toLocaleString('en-US')} clients`, [
    `Command: \`npm run bench:notifier\` (${CLIENTS.toLocaleString('en-US')} socket.io clients in the bench process, each following one of ${TOPICS.toLocaleString('en-US')} channel topics; ${RATE.toLocaleString('en-US')} events/s for ${SECONDS} s, each reaching ${CLIENTS / TOPICS} clients).`,
    '',
    '| measure | notifier (NATS → batches every 100 ms → Redis-streams adapter) | bare socket.io broadcast, same run |',
    '| --- | --- | --- |',
    `| deliveries received (expected ≈ ${Math.round(expected).toLocaleString('en-US')}) | ${n.received.toLocaleString('en-US')} | ${b.received.toLocaleString('en-US')} |`,
    `| latency p50, published → client | ${n.p50} ms | ${b.p50} ms |`,
    `| latency p99 | ${n.p99} ms | ${b.p99} ms |`,
    `| memory per connection (RSS growth ÷ clients) | ${Math.round(n.bytesPerConnection / 1024)} KiB | ${Math.round(b.bytesPerConnection / 1024)} KiB |`,
    '',
    `Target: p99 < 100 ms at ${CLIENTS.toLocaleString('en-US')} clients (${n.p99 < 100 ? 'met' : 'NOT met'}). The notifier's latency includes JetStream (publish → store → durable consumer) and its 100 ms batching window; the bare server emits at once.`,
    'The clients, the notifier, NATS, Redis and PostgreSQL share the same two cores.',
  ]);
}

runBench(benchmark);
