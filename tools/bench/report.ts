import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@unstuck/config';

const HEADER = `# Benchmarks

Measured by the \`npm run bench:*\` commands, which rewrite their own section below. Each section names the machine
and the date it was measured on; ratios compare figures taken in the same run.
`;

/** Replaces (or adds) the `## <name>` section of docs/benchmarks.md with today's figures and the machine. */
export function recordBenchmark(name: string, lines: string[]): void {
  const file = join(repoRoot(), 'docs', 'benchmarks.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${execSync('uname -sr').toString().trim()}, Node ${process.version}, PostgreSQL ${execSync('ls /usr/lib/postgresql').toString().trim()}`;
  const section = [`## ${name}`, '', `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.`, '', ...lines, ''].join('\n');
  const re = new RegExp(`## ${name}\\n[\\s\\S]*?(?=\\n## |$)`);
  const next = re.test(current) ? current.replace(re, section) : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, `${next.trimEnd()}\n`);
}
