import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, untilUp } from './infra';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  kill: (signal?: NodeJS.Signals) => void;
}

/**
 * Tests and benchmarks give the programs they start fixed ports below 32768. Linux takes the local ports of outgoing
 * connections from 32768–60999 (net.ipv4.ip_local_port_range), so a fixed port in that range may be held by some
 * connection (a pool's, a probe's) at the moment a service binds it, and the service dies with EADDRINUSE.
 *
 * Runs one of the project's built programs (dist/apps/<name>/src/main.js) with only the given environment, and
 * optionally Node flags (a benchmark's --cpu-prof, which NODE_OPTIONS does not accept).
 */
export function startBuiltApp(name: string, env: Record<string, string>, nodeArgs: readonly string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgs, join(REPO_ROOT, 'dist', 'apps', name, 'src', 'main.js')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { name, child, exited, output: () => output, kill: (signal = 'SIGTERM') => void (child.exitCode === null && child.kill(signal)) };
}

/**
 * Waits for `work` while the services it depends on run. A service that exits meanwhile fails the wait at once; a
 * failure either way says why in the services' own words: how each ended, if it did, and the last of its output.
 */
export async function unlessExited<T>(work: Promise<T>, services: readonly ServiceProcess[]): Promise<T> {
  const exit = Promise.race(
    services.map((s) => s.exited.then(({ code, signal }) => Promise.reject(new Error(`${s.name} exited (${signal ?? `code ${code}`})`)))),
  );
  try {
    return await Promise.race([work, exit]);
  } catch (e) {
    const said = services.map((s) => `--- ${s.name}${s.child.exitCode !== null || s.child.signalCode ? ` (exited: ${s.child.signalCode ?? s.child.exitCode})` : ''} ---\n${s.output().slice(-3000)}`);
    throw new Error(`${(e as Error).message}\n${said.join('\n')}`);
  }
}

/** Waits until every URL answers 2xx (the services' /health/ready), failing at once if one of the services exits. */
export async function untilReady(urls: string | readonly string[], services: readonly ServiceProcess[], timeoutMs = 60_000): Promise<void> {
  await unlessExited(Promise.all((typeof urls === 'string' ? [urls] : urls).map((url) => untilUp(url, timeoutMs))), services);
}
