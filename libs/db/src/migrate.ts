import type { DataSource } from 'typeorm';
import { MIGRATIONS } from './migrations';

/**
 * Reverts the last applied migration inside a transaction, unless that migration declares `transaction = false`
 * (CREATE/DROP INDEX CONCURRENTLY cannot run in one). TypeORM honours the flag when applying but not when
 * reverting, so the mode is chosen here from the migration that is about to be undone.
 */
export async function revertLastMigration(ds: DataSource): Promise<string | undefined> {
  const rows: Array<{ name: string }> = await ds.query(`SELECT name FROM schema_migrations ORDER BY id DESC LIMIT 1`);
  const last = rows[0]?.name;
  if (!last) return undefined;
  const migration = MIGRATIONS.map((M) => new M()).find((m) => m.name === last);
  const outsideTransaction = (migration as { transaction?: boolean } | undefined)?.transaction === false;
  await ds.undoLastMigration({ transaction: outsideTransaction ? 'none' : 'each' });
  return last;
}
