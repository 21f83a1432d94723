import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startBuiltApp } from '@unstuck/testing';
import { recordBenchmark } from './report';

/**
 * npm run bench:ingest — packet events persisted per second by packet-ingest catching up a chain-sim backlog, the
 * latency from block time to committed row while following live traffic, and, in the same run, the raw COPY rate
 * into packet_flow (the ceiling).
 */
const ADMIN = 'http://127.0.0.1:46600';
const RPC_BASE = 46657;
const INGEST_PORT = 43302;
const DB_URL = process.env.DATABASE_URL ?? 'postgres://unstuck:unstuck@127.0.0.1:55432/unstuck';
const TRANSFERS_PER_BLOCK = Number(process.env.BENCH_TRANSFERS_PER_BLOCK ?? 250);
const BACKLOG_BLOCKS = Number(process.env.BENCH_BACKLOG_BLOCKS ?? 40);
const COPY_ROWS = Number(process.env.BENCH_COPY_ROWS ?? 200_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const admin = async <T>(path: string, body?: unknown): Promise<T> =>
  (await (await fetch(`${ADMIN}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).json()) as T;
const rpc = async <T>(port: number, method: string, params: Record<string, string> = {}): Promise<T> =>
  ((await (await fetch(`http://127.0.0.1:${port}/${method}?${new URLSearchParams(params)}`)).json()) as { result: T }).result;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function metricSum(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${INGEST_PORT}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

/** Raw COPY of packet_flow-shaped rows into packet_flow itself, in today's partition. */
async function rawCopyRate(): Promise<number> {
  const client = new Client({ connectionString: DB_URL });
  await client.connect();
  const chain = `bench-copy-${Date.now()}`;
  try {
    const now = new Date().toISOString();
    const rows = function* () {
      for (let i = 1; i <= COPY_ROWS; i++) {
        yield `${9_000_000_000_000 + i}\t${now}\t${chain}\ttransfer\tchannel-0\t${i}\tosmosis-1\ttransfer\tchannel-141\tacknowledged\tcosmos1sender${i % 1000}\tosmo1receiver${i % 1000}\tuatom\t${1000 + i}\t${100 + i}\t${now}\t${'A'.repeat(64)}\t${now}\tosmo1relayer\t2\n`;
      }
    };
    const started = performance.now();
    await pipeline(
      Readable.from(rows()),
      client.query(
        copyFrom(
          `COPY packet_flow (id, created_at, src_chain_id, src_port, src_channel, sequence, dst_chain_id, dst_port, dst_channel, status,
                             sender, receiver, denom, amount, send_height, send_time, send_tx_hash, recv_time, recv_relayer, relay_attempts)
           FROM STDIN`,
        ),
      ),
    );
    return COPY_ROWS / ((performance.now() - started) / 1000);
  } finally {
    await client.query(`DELETE FROM packet_flow WHERE src_chain_id = $1`, [chain]);
    await client.end();
  }
}

let stages: Record<string, number> = {};

async function main(): Promise<void> {
  const copyRate = await rawCopyRate();
  process.stdout.write(`raw COPY into packet_flow: ${Math.round(copyRate)} rows/s\n`);

  const dir = mkdtempSync(join(tmpdir(), 'unstuck-bench-'));
  const chainsFile = join(dir, 'chains.yaml');
  const chains = [
    { id: 'cosmoshub-4', port: RPC_BASE, v: '0.38' },
    { id: 'osmosis-1', port: RPC_BASE + 10, v: '0.37' },
    { id: 'neutron-1', port: RPC_BASE + 20, v: '0.34' },
  ];
  writeFileSync(chainsFile, chains.map((c) => `- chain_id: ${c.id}\n  rpc: http://127.0.0.1:${c.port}\n  comet_version: "${c.v}"\n`).join(''));

  // 1. A backlog: chain-sim produces BACKLOG_BLOCKS full blocks per chain before ingest starts.
  const sim = startBuiltApp('chain-sim', {
    CHAIN_SIM_RPC_BASE_PORT: String(RPC_BASE),
    CHAIN_SIM_ADMIN_PORT: '46600',
    CHAIN_SIM_BLOCK_MS: '1000',
    CHAIN_SIM_TRANSFERS_PER_BLOCK: String(TRANSFERS_PER_BLOCK),
    CHAIN_SIM_WALLETS: '5000',
    CHAIN_SIM_SEED: '11',
  });
  let ingest: ReturnType<typeof startBuiltApp> | undefined;
  try {
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${ADMIN}/chains`).then((r) => r.ok, () => false)) break;
      await sleep(200);
    }
    const first = await rpc<{ sync_info: { latest_block_height: string } }>(RPC_BASE, 'status');
    const startHeight = Number(first.sync_info.latest_block_height);
    while (Number((await rpc<{ sync_info: { latest_block_height: string } }>(RPC_BASE, 'status')).sync_info.latest_block_height) < startHeight + BACKLOG_BLOCKS) await sleep(500);
    await admin('/rate', { transfers_per_block: 0 });
    await sleep(1_500);
    const heads = await Promise.all(chains.map(async (c) => Number((await rpc<{ sync_info: { latest_block_height: string } }>(c.port, 'status')).sync_info.latest_block_height)));

    // 2. Catch-up throughput, timed from the process's spawn: followers start before the HTTP server listens, so
    // timing from the first metrics read would miss work done during boot. Boot time counts against ingest.
    const spawned = performance.now();
    ingest = startBuiltApp('packet-ingest', {
      INGEST_PORT: String(INGEST_PORT),
      CHAINS_FILE: chainsFile,
      INGEST_BATCH_BLOCKS: process.env.BENCH_BATCH_BLOCKS ?? '10',
      INGEST_POLL_INTERVAL_MS: '200',
      LOG_LEVEL: 'error',
    });
    const committed = async () => {
      const c = new Client({ connectionString: DB_URL });
      await c.connect();
      const { rows } = await c.query<{ chain_id: string; height: string }>(`SELECT chain_id, height FROM ingest_cursors WHERE chain_id = ANY($1)`, [chains.map((x) => x.id)]);
      await c.end();
      return chains.map((x) => Number(rows.find((r) => r.chain_id === x.id)?.height ?? 0));
    };
    for (;;) {
      const heights = await committed();
      if (heights.every((h, i) => h >= heads[i]!)) break;
      await sleep(50);
    }
    const elapsed = (performance.now() - spawned) / 1000;
    let events = 0;
    for (let i = 0; i < 100 && events === 0; i++) {
      events = await metricSum('ingest_events_total').catch(() => 0);
      if (events === 0) await sleep(100);
    }
    const eventsPerSecond = events / elapsed;
    process.stdout.write(`ingest catch-up: ${events} events in ${elapsed.toFixed(1)} s = ${Math.round(eventsPerSecond)} events/s\n`);
    stages = {};
    for (const stage of ['fetch', 'parse', 'publish', 'commit']) {
      const text = await (await fetch(`http://127.0.0.1:${INGEST_PORT}/metrics`)).text();
      stages[stage] = text
        .split('\n')
        .filter((l) => l.startsWith('ingest_stage_seconds_sum{') && l.includes(`stage="${stage}"`))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    }
    process.stdout.write(`time per stage, summed over the three chains' followers (s): ${JSON.stringify(stages)}\n`);

    // 3. Live latency: a steady rate, block time → cursor past the block.
    const liveRate = Math.max(1, Math.round(Number(process.env.BENCH_LIVE_TRANSFERS_PER_BLOCK ?? 100)));
    await admin('/rate', { transfers_per_block: liveRate });
    const latencies: number[] = [];
    // Only blocks produced during the live phase: the backlog's blocks are old by construction.
    let measured = Number((await rpc<{ sync_info: { latest_block_height: string } }>(RPC_BASE, 'status')).sync_info.latest_block_height);
    const until = Date.now() + Number(process.env.BENCH_LIVE_SECONDS ?? 20) * 1000;
    while (Date.now() < until) {
      const [h] = await committed();
      for (let height = measured + 1; height <= h!; height++) {
        measured = height;
        const block = await rpc<{ block: { header: { time: string } } }>(RPC_BASE, 'block', { height: String(height) });
        latencies.push(Date.now() - Date.parse(block.block.header.time));
      }
      await sleep(20);
    }
    const live = { p50: percentile(latencies, 50), p99: percentile(latencies, 99), blocks: latencies.length };
    process.stdout.write(`live following at ${liveRate} transfers/block/chain: block → committed p50 ${live.p50} ms, p99 ${live.p99} ms (${live.blocks} blocks)\n`);

    const ratio = eventsPerSecond / copyRate;
    recordBenchmark('ingest', [
      `Command: \`npm run bench:ingest\` (chain-sim backlog of ${BACKLOG_BLOCKS} blocks × 3 chains at ${TRANSFERS_PER_BLOCK} transfers/block/chain; ingest batch ${process.env.BENCH_BATCH_BLOCKS ?? '10'} blocks).`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| packet events persisted per second (catch-up of ${events} events in ${elapsed.toFixed(1)} s, process start included) | ${Math.round(eventsPerSecond).toLocaleString('en-US')} |`,
      `| raw \`COPY\` into packet_flow, same run (rows/s, the ceiling) | ${Math.round(copyRate).toLocaleString('en-US')} |`,
      `| ingest ÷ raw COPY | ${(ratio * 100).toFixed(0)} % |`,
      `| block time → committed row, live at ${liveRate} transfers/block/chain, p50 | ${live.p50} ms |`,
      `| same, p99 | ${live.p99} ms |`,
      `| time in each stage during catch-up, summed over the three followers (fetch / parse / publish / commit) | ${['fetch', 'parse', 'publish', 'commit'].map((k) => `${stages[k]!.toFixed(1)} s`).join(' / ')} |`,
      '',
      `Targets: ≥ 20,000 events/s sustained (${eventsPerSecond >= 20_000 ? 'met' : 'NOT met'}) and ≥ 50 % of raw COPY (${ratio >= 0.5 ? 'met' : 'NOT met'}).`,
      'chain-sim, packet-ingest, PostgreSQL and NATS share the same two cores during the run.',
    ]);
  } finally {
    ingest?.kill('SIGTERM');
    sim.kill('SIGTERM');
    await sleep(1_000);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

