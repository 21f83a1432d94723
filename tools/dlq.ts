import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { loadEnv } from '@unstuck/config';
import { DeadLetters, REPLAYABLE_REASONS, natsEnvShape, type DeadLetter } from '@unstuck/messaging';

const USAGE = `usage:
  npm run dlq -- list [--consumer NAME] [--reason REASON]
      the dead letters (of one consumer, of one reason), oldest first, with a count per consumer and reason
  npm run dlq -- replay --consumer NAME [--reason REASON]... [--dry-run]
      publishes the consumer's dead letters again on their original subjects, by default those whose reason is
      ${REPLAYABLE_REASONS.join(', ')}, and deletes each once JetStream has stored it; --dry-run only tells
NATS_URL names the server (default: the project's own).`;

class UsageError extends Error {}

function row(l: DeadLetter): string {
  return [String(l.seq).padStart(7), l.deadAt.toISOString(), l.consumer, l.reason, `${l.deliveries}×`, l.subject, l.detail.slice(0, 120)].join('  ');
}

function counts(letters: readonly DeadLetter[]): string[] {
  const by = new Map<string, number>();
  for (const l of letters) by.set(`${l.consumer} ${l.reason}`, (by.get(`${l.consumer} ${l.reason}`) ?? 0) + 1);
  return [...by.entries()].sort().map(([k, n]) => `${String(n).padStart(7)}  ${k}`);
}

/** Runs one command; returns the exit code (2: the command was not understood). */
export async function runDlq(argv: readonly string[], out: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let command: string | undefined;
  let values: { consumer?: string; reason?: string[]; 'dry-run'?: boolean };
  try {
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { consumer: { type: 'string' }, reason: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
    });
    if (parsed.positionals.length !== 1) throw new UsageError('name one command: list or replay');
    command = parsed.positionals[0];
    values = parsed.values;
    if (command !== 'list' && command !== 'replay') throw new UsageError(`unknown command '${command}'`);
    if (command === 'replay' && !values.consumer) throw new UsageError('replay needs --consumer NAME (the durable whose dead letters to replay)');
    if (command === 'list' && (values.reason?.length ?? 0) > 1) throw new UsageError('list takes one --reason');
    if (command === 'list' && values['dry-run']) throw new UsageError('--dry-run goes with replay');
  } catch (e) {
    out(`error: ${(e as Error).message}`);
    out(USAGE);
    return 2;
  }

  // A bare connection: a service's JetStreamConnection would also declare the streams with this process's settings.
  const url = loadEnv(natsEnvShape, env).NATS_URL;
  const nc = await connect({ servers: url, name: 'dlq-tool', timeout: 10_000 }).catch((e: Error) => {
    throw new Error(`NATS at ${url} did not answer: ${e.message}`);
  });
  try {
    const jsm = await jetstreamManager(nc);
    const context = { js: jetstream(nc), jsm };
    const dlq = new DeadLetters({ get: async () => context });
    if (command === 'list') {
      const letters = await dlq.list({ consumer: values.consumer, reason: values.reason?.[0] });
      for (const l of letters) out(row(l));
      out(`${letters.length} dead letters`);
      for (const line of counts(letters)) out(line);
      return 0;
    }
    const { replayed, left } = await dlq.replay(values.consumer!, { reasons: values.reason, dryRun: values['dry-run'] });
    for (const l of replayed) out(`${values['dry-run'] ? 'would replay' : 'replayed'}  ${row(l)}`);
    out(`${replayed.length} ${values['dry-run'] ? 'would be replayed' : 'replayed'}, ${left.length} left (their reason is not replayed)`);
    for (const line of counts(left)) out(line);
    return 0;
  } finally {
    await nc.drain();
  }
}

if (require.main === module) {
  runDlq(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(1);
    },
  );
}
