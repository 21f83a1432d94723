import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@unstuck/config';
import { loadChainsConfig } from '@unstuck/packets';

/**
 * `npm start`: runs chain-sim (demo traffic on three simulated chains) and every service from its built JS with
 * their output prefixed, waits until each one reports ready, prints where to find them, and on Ctrl-C / SIGTERM
 * forwards the signal so each drains before exiting. UNSTUCK_DEMO=false leaves chain-sim out (real chains in
 * CHAINS_FILE).
 */
const DEMO = process.env.UNSTUCK_DEMO !== 'false';
const SIM_ADMIN_PORT = Number(process.env.CHAIN_SIM_ADMIN_PORT ?? 26600);
/**
 * Every service's environment. In the demo the dashboard offers the demo wallet (ADR-036 from a development
 * mnemonic) and the demo's chains (chain-sim, on this machine) as its payment RPCs, so the demo wallet pays from the
 * page, unless told otherwise.
 */
const SERVICE_ENV = DEMO
  ? {
      // cosmoshub-4 answers as public mainnet nodes do (docs/chain-sim.md): a pruned endpoint and an archive one,
      // batch limit 10, 429 over 20 requests/s, block-level sends. config/chains.yaml lists both endpoints.
      CHAIN_SIM_MAINNET_CHAINS: 'cosmoshub-4',
      // Ten minutes of history before the demo starts, stuck packets included: ingest starts at the head and the
      // reconciler finds them (docs/ingest.md), so the dashboard shows stuck packets within its first minute.
      CHAIN_SIM_HISTORY_BLOCKS: '600',
      WEB_DEMO_WALLET: 'true',
      WEB_PAYMENT_RPCS: loadChainsConfig(process.env.CHAINS_FILE ?? join(repoRoot(), 'config', 'chains.yaml'))
        .map((c) => `${c.chain_id}=${c.rpc[0]}`)
        .join(','),
      ...process.env,
    }
  : process.env;
const SERVICES = [
  { name: 'api-gateway', port: Number(process.env.GATEWAY_PORT ?? 3000) },
  { name: 'clearing-service', port: Number(process.env.CLEARING_PORT ?? 3001) },
  { name: 'packet-ingest', port: Number(process.env.INGEST_PORT ?? 3002) },
  { name: 'stats-aggregator', port: Number(process.env.STATS_PORT ?? 3003) },
  { name: 'notifier', port: Number(process.env.NOTIFIER_PORT ?? 3004) },
];

const root = repoRoot();
const children = new Map<string, ChildProcess>();
let stopping = false;

function prefixLines(name: string, stream: NodeJS.ReadableStream, out: NodeJS.WritableStream): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line) out.write(`[${name}] ${line}\n`);
  });
}

function start(name: string): void {
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', name, 'src', 'main.js')], {
    cwd: root,
    env: SERVICE_ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixLines(name, child.stdout!, process.stdout);
  prefixLines(name, child.stderr!, process.stderr);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) process.stderr.write(`[dev-stack] ${name} exited (${signal ?? code}); the others keep running\n`);
    if (stopping && children.size === 0) process.exit(0);
  });
  children.set(name, child);
}

const waitReady = (port: number, timeoutMs: number) => waitFor(`http://127.0.0.1:${port}/health/ready`, timeoutMs);

async function waitFor(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

async function main(): Promise<void> {
  if (DEMO) {
    start('chain-sim');
    if (!(await waitFor(`http://127.0.0.1:${SIM_ADMIN_PORT}/chains`, 30_000))) process.stderr.write('[dev-stack] chain-sim did not start\n');
  }
  for (const s of SERVICES) start(s.name);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n[dev-stack] ${signal}: stopping ${children.size} services\n`);
      for (const child of children.values()) child.kill('SIGTERM');
      setTimeout(() => process.exit(1), 20_000).unref();
    });
  }
  const ready = await Promise.all(SERVICES.map((s) => waitReady(s.port, 60_000)));
  const rows = SERVICES.map((s, i) => `  ${s.name.padEnd(18)} http://127.0.0.1:${s.port}  ${ready[i] ? 'ready' : 'NOT READY (see its log lines)'}`);
  process.stdout.write(
    `\n[dev-stack] Unstuck is up:\n${rows.join('\n')}\n` +
      `  dashboard          http://127.0.0.1:${SERVICES[0]!.port}/   (OpenAPI: /docs)\n` +
      `  REST API           http://127.0.0.1:${SERVICES[0]!.port}/api/v1\n` +
      (DEMO ? `  chain-sim          http://127.0.0.1:${SIM_ADMIN_PORT}/chains (demo traffic; RPC on 26657 + archive 26658 (mainnet profile), 26667, 26677)\n` : '') +
      `  metrics            http://127.0.0.1:<port>/metrics   health: /health/live, /health/ready\n` +
      `[dev-stack] Ctrl-C stops everything (the infrastructure keeps running: npm run infra:down).\n\n`,
  );
}

void main();
