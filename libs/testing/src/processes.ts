import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './infra';

export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
  kill: (signal?: NodeJS.Signals) => void;
}

/**
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
  return { child, exited, output: () => output, kill: (signal = 'SIGTERM') => void (child.exitCode === null && child.kill(signal)) };
}
