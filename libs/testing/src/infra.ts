import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { repoRoot } from '@unstuck/config';

const run = promisify(execFile);
export const REPO_ROOT = repoRoot();
const INFRA = join(REPO_ROOT, 'deploy', 'local', 'infra.sh');

export type Component = 'primary' | 'replica' | 'redis' | 'nats';

/** Stops one of the project's own servers (never anything else on the machine). */
export async function stopServer(component: Component): Promise<void> {
  await run('bash', [INFRA, 'down', component], { cwd: REPO_ROOT });
}

export async function startServer(component: Component): Promise<void> {
  await run('bash', [INFRA, 'up', component], { cwd: REPO_ROOT });
}

/** Stops one of the project's servers for `ms` (an outage), and always starts it again. */
export async function serverDownFor(component: Component, ms: number): Promise<void> {
  await stopServer(component);
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    await startServer(component);
  }
}

/** A superuser session over the local socket (trust auth), for what the application role may not do. */
export async function superuser(component: 'primary' | 'replica'): Promise<Client> {
  const client = new Client({
    host: join(process.env.UNSTUCK_DATA_DIR ?? join(REPO_ROOT, '.data'), 'run'),
    port: component === 'primary' ? 55432 : 55433,
    user: 'postgres',
    database: 'unstuck',
  });
  await client.connect();
  return client;
}

/** Polls `probe` until it returns a truthy value, failing with the last value after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as Exclude<T, undefined | null | false | 0 | ''>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until `url` answers 2xx (a service's /health/ready, chain-sim's admin API); fails after `timeoutMs`, naming it. */
export async function untilUp(url: string, timeoutMs = 60_000, intervalMs = 200): Promise<void> {
  await waitFor(async () => (await fetch(url).catch(() => undefined))?.ok, timeoutMs, intervalMs).catch((e: Error) => {
    throw new Error(`${url} never answered 2xx (${e.message})`);
  });
}

/** A suffix that keeps one test run's names (durables, chain ids, keys) apart from the previous runs'. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
