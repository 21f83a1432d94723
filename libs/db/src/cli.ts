import { loadEnv } from '@unstuck/config';
import { createDataSource } from './data-source';
import { dbEnvShape } from './env';
import { revertLastMigration } from './migrate';

/** `migrate` applies pending migrations, `revert` undoes the last one, `show` lists pending ones. */
async function main(command: string | undefined): Promise<number> {
  if (!command || !['migrate', 'revert', 'show'].includes(command)) {
    process.stderr.write('usage: db <migrate|revert|show>\n');
    return 2;
  }
  const env = loadEnv(dbEnvShape);
  const ds = createDataSource(env, 'migrations', 'unstuck-migrate');
  await ds.initialize();
  try {
    if (command === 'migrate') {
      const done = await ds.runMigrations({ transaction: 'each' });
      process.stdout.write(done.length ? done.map((m) => `applied ${m.name}\n`).join('') : 'schema is up to date\n');
    } else if (command === 'revert') {
      const reverted = await revertLastMigration(ds);
      process.stdout.write(reverted ? `reverted ${reverted}\n` : 'no migration to revert\n');
    } else {
      const pending = await ds.showMigrations();
      process.stdout.write(pending ? 'there are pending migrations\n' : 'schema is up to date\n');
    }
    return 0;
  } finally {
    await ds.destroy();
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
