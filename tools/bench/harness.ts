import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ChainSimAdmin, REPO_ROOT, startBuiltApp, sumSamples, unlessExited, untilUp, writeChainsFile, type ServiceProcess } from '@unstuck/testing';

/** What the benchmarks share: a chain-sim with a backlog, packet-ingest following it, and metric readers. */
export const ADMIN = 'http://127.0.0.1:28600';
export const RPC_BASE = 28657;
export const INGEST_PORT = 23302;

/**
 * Every benchmark runs on servers of its own: a fresh PostgreSQL primary + replica, Redis and NATS on ports next to
 * the development ones, with data in a temporary folder removed afterwards. A run never sees an earlier run's
 * cursors, rows or JetStream message ids (chain-sim replays the same chains, so they would collide), and never
 * touches the development data.
 */
const PORTS = { primary: 55532, replica: 55533, redis: 56479, nats: 54322, natsMonitor: 58322 };
export const DB_URL = `postgres://unstuck:unstuck@127.0.0.1:${PORTS.primary}/unstuck`;
export const BENCH_ENV: Record<string, string> = {
  DATABASE_URL: DB_URL,
  DATABASE_REPLICA_URL: `postgres://unstuck:unstuck@127.0.0.1:${PORTS.replica}/unstuck`,
  REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
  NATS_URL: `nats://127.0.0.1:${PORTS.nats}`,
};

export interface BenchInfra {
  down(): void;
}

function benchInfra(): BenchInfra {
  const data = mkdtempSync(join(tmpdir(), 'unstuck-bench-'));
  const env = {
    ...process.env,
    UNSTUCK_DATA_DIR: data,
    PG_PRIMARY_PORT: String(PORTS.primary),
    PG_REPLICA_PORT: String(PORTS.replica),
    REDIS_PORT: String(PORTS.redis),
    NATS_PORT: String(PORTS.nats),
    NATS_MONITOR_PORT: String(PORTS.natsMonitor),
  };
  const infra = (command: string) => execFileSync('bash', [join(REPO_ROOT, 'deploy', 'local', 'infra.sh'), command], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  infra('up');
  execFileSync(process.execPath, [join(REPO_ROOT, 'dist', 'libs', 'db', 'src', 'cli.js'), 'migrate'], { env: { ...process.env, ...BENCH_ENV }, stdio: ['ignore', 'ignore', 'inherit'] });
  Object.assign(process.env, BENCH_ENV);
  let done = false;
  const down = () => {
    if (done) return;
    done = true;
    // BENCH_KEEP_SERVERS=1 leaves them running for a look (EXPLAIN, metrics); `UNSTUCK_DATA_DIR=<dir> ... infra.sh reset` removes them.
    if (process.env.BENCH_KEEP_SERVERS === '1') process.stdout.write(`servers kept: data in ${data}, ${JSON.stringify(PORTS)}\n`);
    else infra('reset');
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      down();
      process.exit(130);
    });
  }
  return { down };
}
export const TRANSFERS_PER_BLOCK = Number(process.env.BENCH_TRANSFERS_PER_BLOCK ?? 250);
export const BACKLOG_BLOCKS = Number(process.env.BENCH_BACKLOG_BLOCKS ?? 40);
export const BATCH_BLOCKS = process.env.BENCH_BATCH_BLOCKS ?? '10';
/** packet-ingest's decoding threads (its INGEST_DECODE_THREADS; 0 parses on the main thread). */
export const DECODE_THREADS = process.env.BENCH_DECODE_THREADS ?? '2';
/** packet-ingest's group commit lanes (its INGEST_WRITERS). */
export const WRITERS = process.env.BENCH_WRITERS ?? '2';

export const CHAINS = [
  { id: 'cosmoshub-4', port: RPC_BASE, v: '0.38' },
  { id: 'osmosis-1', port: RPC_BASE + 10, v: '0.37' },
  { id: 'neutron-1', port: RPC_BASE + 20, v: '0.34' },
] as const;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { untilUp };

/** BENCH_PROFILE_DIR=<dir>: Node flags that make a benchmarked service write its V8 CPU profile there as it exits. */
export const profileArgs = (): string[] => (process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []);

export const admin = async <T>(path: string, body?: unknown): Promise<T> =>
  (await (await fetch(`${ADMIN}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })).json()) as T;

export const rpc = async <T>(port: number, method: string, params: Record<string, string> = {}): Promise<T> =>
  ((await (await fetch(`http://127.0.0.1:${port}/${method}?${new URLSearchParams(params)}`)).json()) as { result: T }).result;

export const headOf = async (port: number) => Number((await rpc<{ sync_info: { latest_block_height: string } }>(port, 'status')).sync_info.latest_block_height);

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

export const metricsText = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

export { sumSamples };

/** A histogram's cumulative bucket counts (`le` → count), summed over label sets. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (!le) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.split(' ').pop()));
  }
  return buckets;
}

/**
 * The q-quantile of the observations between two readings of a histogram, interpolated linearly inside its bucket
 * as Prometheus's histogram_quantile does. Returns the bucket's upper bound too, the figure that is certain.
 */
export function quantileBetween(before: Map<number, number>, after: Map<number, number>, q: number): { estimate: number; atMost: number; count: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return { estimate: NaN, atMost: NaN, count: 0 };
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i]! >= rank) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const upper = bounds[i]!;
      if (upper === Infinity) return { estimate: lower, atMost: Infinity, count: total };
      const inBucket = counts[i]! - below;
      return { estimate: lower + (upper - lower) * (inBucket === 0 ? 1 : (rank - below) / inBucket), atMost: upper, count: total };
    }
  }
  return { estimate: NaN, atMost: NaN, count: total };
}

/** Heights packet-ingest has committed for the benchmark's chains. */
export async function committedHeights(): Promise<number[]> {
  const c = new Client({ connectionString: DB_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ chain_id: string; height: string }>(`SELECT chain_id, height FROM ingest_cursors WHERE chain_id = ANY($1)`, [
      CHAINS.map((x) => x.id),
    ]);
    return CHAINS.map((x) => Number(rows.find((r) => r.chain_id === x.id)?.height ?? 0));
  } finally {
    await c.end();
  }
}

export interface Backlog {
  sim: ServiceProcess;
  chainsFile: string;
  /** Each chain's head once traffic stopped: ingest has caught up when it committed these. */
  heads: number[];
}

/** Starts chain-sim and lets it produce BACKLOG_BLOCKS full blocks per chain, then stops traffic. */
export async function chainSimBacklog(): Promise<Backlog> {
  const sim = startBuiltApp('chain-sim', {
    CHAIN_SIM_RPC_BASE_PORT: String(RPC_BASE),
    CHAIN_SIM_ADMIN_PORT: '28600',
    CHAIN_SIM_BLOCK_MS: '1000',
    CHAIN_SIM_TRANSFERS_PER_BLOCK: String(TRANSFERS_PER_BLOCK),
    CHAIN_SIM_WALLETS: '5000',
    CHAIN_SIM_SEED: '11',
  });
  await untilUp(`${ADMIN}/chains`, 20_000);
  const startHeight = await headOf(RPC_BASE);
  while ((await headOf(RPC_BASE)) < startHeight + BACKLOG_BLOCKS) await sleep(500);
  await admin('/rate', { transfers_per_block: 0 });
  // Packets already sent are still relayed and acknowledged for a few blocks: wait until every chain seals empty
  // blocks, so the backlog is complete and chain-sim is idle (not building blocks) while ingest catches up.
  await untilQuiet();
  const heads = await Promise.all(CHAINS.map((c) => headOf(c.port)));
  // Ingest starts at each chain's first block, so the whole backlog is ingested.
  const earliest = await ChainSimAdmin.earliestHeights(CHAINS.map((c) => c.port));
  const chainsFile = writeChainsFile(CHAINS.map((c, i) => ({ chain_id: c.id, port: c.port, comet_version: c.v, start_height: earliest[i]! })));
  return { sim, chainsFile, heads };
}

/** Waits until the last two blocks of every chain carry no transaction (at most 60 s). */
async function untilQuiet(): Promise<void> {
  const txsAt = async (port: number, height: number) =>
    (await rpc<{ block: { data: { txs: string[] | null } } }>(port, 'block', { height: String(height) })).block.data.txs?.length ?? 0;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const quiet = await Promise.all(
      CHAINS.map(async (c) => {
        const head = await headOf(c.port);
        return (await txsAt(c.port, head)) === 0 && (await txsAt(c.port, head - 1)) === 0;
      }),
    );
    if (quiet.every(Boolean)) return;
    await sleep(500);
  }
  throw new Error('chain-sim still produces transactions 60 s after its rate was set to 0');
}

function startIngest(chainsFile: string): ServiceProcess {
  return startBuiltApp('packet-ingest', {
    ...BENCH_ENV,
    INGEST_PORT: String(INGEST_PORT),
    CHAINS_FILE: chainsFile,
    INGEST_BATCH_BLOCKS: BATCH_BLOCKS,
    INGEST_POLL_INTERVAL_MS: '200',
    INGEST_DECODE_THREADS: DECODE_THREADS,
    INGEST_WRITERS: WRITERS,
    // A node of our own, not a public one: no request budget (the real-node run sets one).
    INGEST_RPC_REQUESTS_PER_SECOND: '0',
    LOG_LEVEL: 'error',
  },
  profileArgs());
}

/** The processes a benchmark run shares the machine with, found by their command lines in /proc (PostgreSQL's backends are named "postgres: …"). */
const CPU_GROUPS = { 'packet-ingest': 'apps/packet-ingest/', PostgreSQL: 'postgres', 'nats-server': 'nats-server', 'chain-sim': 'apps/chain-sim/' } as const;
export type CpuGroup = keyof typeof CPU_GROUPS;

/** CPU seconds (user + system) used so far by every live process of each group (Linux /proc). */
export function cpuSeconds(): Record<CpuGroup, number> {
  const out = Object.fromEntries(Object.keys(CPU_GROUPS).map((g) => [g, 0])) as Record<CpuGroup, number>;
  for (const pid of readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const group = (Object.keys(CPU_GROUPS) as CpuGroup[]).find((g) => cmd.includes(CPU_GROUPS[g]));
      if (!group) continue;
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out[group] += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/**
 * Starts packet-ingest on the backlog and waits until it has committed every chain's head. Timed from the
 * process's spawn: followers start before the HTTP server listens, so boot time counts against ingest. `cpu` is
 * the CPU seconds each process group used meanwhile (PostgreSQL's backends that ended are not counted).
 */
export async function ingestBacklog(
  chainsFile: string,
  heads: number[],
): Promise<{ ingest: ServiceProcess; events: number; seconds: number; cpu: Record<CpuGroup, number>; committed: CommittedAt[] }> {
  const before = cpuSeconds();
  const spawned = performance.now();
  const ingest = startIngest(chainsFile);
  // Events committed so far, read from ingest's own counter every 250 ms (0 until its HTTP server is up).
  const committed: CommittedAt[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      await sleep(250);
      const events = await metricsText(INGEST_PORT).then((t) => sumSamples(t, 'ingest_events_total'), () => 0);
      committed.push({ seconds: (performance.now() - spawned) / 1000, events });
    }
  })();
  let seconds: number;
  let after: Record<CpuGroup, number>;
  try {
    await unlessExited(untilCommitted(heads), [ingest]);
    // Timed now: stopping the watcher waits for its current sleep and read, which is not ingest's time.
    seconds = (performance.now() - spawned) / 1000;
    after = cpuSeconds();
  } finally {
    watching = false;
    await watch;
  }
  const cpu = Object.fromEntries((Object.keys(after) as CpuGroup[]).map((g) => [g, after[g] - before[g]])) as Record<CpuGroup, number>;
  const events = await settledMetric(INGEST_PORT, 'ingest_events_total');
  committed.push({ seconds, events });
  return { ingest, events, seconds, cpu, committed };
}

/** How many events ingest had committed, `seconds` after its process was spawned. */
export interface CommittedAt {
  seconds: number;
  events: number;
}

/**
 * The sustained rate of a catch-up: events per second between the first reading at or past 10 % of the backlog and
 * the first at or past 90 %. It leaves out the process start and the first batch's way through the pipeline
 * (fetch, parse, publish, commit: nothing is committed for the first seconds), and the last chain's tail.
 * undefined when the readings are too coarse to have two distinct points in that window.
 */
export function steadyRate(committed: readonly CommittedAt[], total: number): { eventsPerSecond: number; from: CommittedAt; to: CommittedAt } | undefined {
  const from = committed.find((c) => c.events >= 0.1 * total);
  const to = committed.find((c) => c.events >= 0.9 * total);
  if (!from || !to || to.seconds <= from.seconds || to.events <= from.events) return undefined;
  return { eventsPerSecond: (to.events - from.events) / (to.seconds - from.seconds), from, to };
}

/** Waits until ingest has committed every chain's head. */
export async function untilCommitted(heads: number[]): Promise<void> {
  for (;;) {
    const heights = await committedHeights();
    if (heights.every((h, i) => h >= heads[i]!)) return;
    await sleep(50);
  }
}

/** A metric from a service that may still be starting: retried until it reads non-zero. */
export async function settledMetric(port: number, name: string, ...match: string[]): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const value = await metricsText(port).then((t) => sumSamples(t, name, ...match), () => 0);
    if (value > 0) return value;
    await sleep(100);
  }
  return 0;
}

/** A benchmark's whole main: its own servers up, the run, the servers down (also on failure), errors printed. */
export function runBench(run: () => Promise<void>): void {
  const main = async () => {
    const infra = benchInfra();
    try {
      await run();
    } finally {
      infra.down();
    }
  };
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
