import { loadEnv } from '@unstuck/config';
import { superuser } from '@unstuck/testing';
import { createDataSource } from './data-source';
import { dbEnvShape } from './env';
import { revertLastMigration } from './migrate';
import { MIGRATIONS, PERFORMANCE_INDEXES } from './migrations';
import { PerformanceIndexes1732100000001 } from './migrations/1732100000001-performance-indexes';

describe('migrations (real PostgreSQL)', () => {
  const ds = createDataSource(loadEnv(dbEnvShape, {}), 'migrations', 'test');
  beforeAll(() => ds.initialize());
  afterAll(async () => {
    await ds.runMigrations({ transaction: 'each' });
    await ds.destroy();
  });

  const tables = async () =>
    (await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map((r: { tablename: string }) => r.tablename);

  it('revert every migration and apply them again, leaving the same schema', async () => {
    await ds.runMigrations({ transaction: 'each' });
    const before = await tables();
    for (let i = 0; i < MIGRATIONS.length; i++) await revertLastMigration(ds);
    expect((await tables()).filter((t: string) => !t.startsWith('schema_migrations'))).toEqual([]);
    await ds.runMigrations({ transaction: 'each' });
    expect(await tables()).toEqual(before);
  });

  it('partitions packet_flow by day ahead of time, with a default partition for anything outside', async () => {
    const parts: Array<{ name: string }> = await ds.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'packet_flow'::regclass ORDER BY 1`,
    );
    const names = parts.map((p) => p.name);
    expect(names).toContain('packet_flow_default');
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    expect(names).toContain(`packet_flow_${today}`);
    expect(names.length).toBeGreaterThanOrEqual(22);
  });

  it('gives packet_flow one unique index, its primary key, so the ingest upsert merges concurrent writers', async () => {
    // ON CONFLICT merges a concurrent insert only on its arbiter index; a second unique index makes two writers of
    // the same new packet fail with unique_violation (packet-store.int-spec races them).
    const unique: Array<{ name: string }> = await ds.query(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'packet_flow'::regclass AND i.indisunique ORDER BY 1`,
    );
    expect(unique.map((u) => u.name)).toEqual(['packet_flow_pkey']);
  });

  it('builds every performance index, valid', async () => {
    const rows: Array<{ name: string; valid: boolean }> = await ds.query(
      `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = ANY($1)`,
      [PERFORMANCE_INDEXES.map((x) => x.name)],
    );
    expect(rows).toHaveLength(PERFORMANCE_INDEXES.length);
    expect(rows.every((r) => r.valid)).toBe(true);
  });

  it('rebuilds a concurrently-built index left INVALID by an interrupted build', async () => {
    const target = PERFORMANCE_INDEXES[0]!;
    const oid = async () =>
      (await ds.query(`SELECT c.oid::int AS oid, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`, [target.name]))[0];
    const before = await oid();
    // An index marked invalid is what a cancelled CREATE INDEX CONCURRENTLY leaves behind; IF NOT EXISTS alone would keep it.
    const su = await superuser('primary');
    await su.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = $1::regclass`, [target.name]);
    await su.end();
    expect((await oid()).valid).toBe(false);
    const runner = ds.createQueryRunner();
    try {
      await new PerformanceIndexes1732100000001().up(runner);
    } finally {
      await runner.release();
    }
    const after = await oid();
    expect(after.valid).toBe(true);
    expect(after.oid).not.toBe(before.oid);
  });

  it('enforces the model: a payment tx hash is used once, a payment is refunded at most once per reason', async () => {
    const [op] = await ds.query(
      `INSERT INTO clearing_operations (wallet_address, chain_id, packet_count, fee_denom, base_fee, per_packet_fee, gas_fee,
                                        total_fee, payment_address)
       VALUES ('cosmos1test', 'cosmoshub-4', 1, 'uatom', 1000, 100, 50, 1150, 'cosmos1service') RETURNING id`,
    );
    const pay = (hash: string) =>
      ds.query(
        `INSERT INTO payments (operation_id, chain_id, tx_hash, height, payer, recipient, denom, amount, memo, detected_by)
         VALUES ($1, 'cosmoshub-4', $2, 10, 'cosmos1test', 'cosmos1service', 'uatom', 1150, 'CLR-x', 'user') RETURNING id`,
        [op.id, hash],
      );
    const hash = 'F'.repeat(60) + Math.floor(Math.random() * 9000 + 1000);
    const [p] = await pay(hash);
    await expect(pay(hash)).rejects.toThrow(/uq_payments_tx_hash/);
    const refund = () =>
      ds.query(
        `INSERT INTO refunds (operation_id, payment_id, reason, chain_id, recipient, denom, amount)
         VALUES ($1, $2, 'failure', 'cosmoshub-4', 'cosmos1test', 'uatom', 1150)`,
        [op.id, p.id],
      );
    await refund();
    await expect(refund()).rejects.toThrow(/uq_refunds_payment_reason/);
    await ds.query(`DELETE FROM refunds WHERE operation_id = $1`, [op.id]);
    await ds.query(`DELETE FROM payments WHERE operation_id = $1`, [op.id]);
    await ds.query(`DELETE FROM clearing_operations WHERE id = $1`, [op.id]);
  });
});
