import { loadEnv } from '@unstuck/config';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { uniqueSuffix } from '@unstuck/testing';
import { IngestCommitGate } from './commit-gate';

const env = loadEnv(dbEnvShape, {});
const db = new Database(createDataSource(env, 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
beforeAll(() => db.start());
afterAll(() => db.stop());

const event = (chain_id: string, height: string) => ({ payload: { chain_id, height } });
const setCursor = (chain: string, height: number) =>
  db.query(
    `INSERT INTO ingest_cursors (chain_id, height) VALUES ($1, $2) ON CONFLICT (chain_id) DO UPDATE SET height = EXCLUDED.height`,
    [chain, height],
  );

describe('IngestCommitGate (real PostgreSQL)', () => {
  it('passes events whose block ingest has committed and events that name no block', async () => {
    const chain = `gate-${uniqueSuffix()}`;
    await setCursor(chain, 100);
    const gate = new IngestCommitGate(db);
    const committed = event(chain, '100');
    const unplaced = { payload: { packet: 'stuck flag' } };
    const { ready, notYet } = await gate.split([committed, unplaced], 0);
    expect(ready).toEqual([committed, unplaced]);
    expect(notYet).toEqual([]);
  });

  it('waits for a followed chain to commit the block, and hands back what is still uncommitted at the deadline', async () => {
    const chain = `gate-${uniqueSuffix()}`;
    await setCursor(chain, 100);
    const gate = new IngestCommitGate(db);
    const soon = event(chain, '101');
    const later = event(chain, '150');
    const commit = setTimeout(() => void setCursor(chain, 101), 300);
    const { ready, notYet } = await gate.split([soon, later], 1_500);
    clearTimeout(commit);
    expect(ready).toEqual([soon]);
    expect(notYet).toEqual([later]);
  });

  it('does not wait for a chain ingest has never committed: its events are handed back at once', async () => {
    // Waiting for it would hold the whole batch, other chains' events included, for the full wait.
    const gate = new IngestCommitGate(db);
    const unknown = event(`never-${uniqueSuffix()}`, '5');
    const started = Date.now();
    const { ready, notYet } = await gate.split([unknown], 20_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(ready).toEqual([]);
    expect(notYet).toEqual([unknown]);
  });

  it("sees a chain's first commit even while it holds cursors read moments before it", async () => {
    const chain = `first-${uniqueSuffix()}`;
    const gate = new IngestCommitGate(db);
    const first = event(chain, '7');
    expect((await gate.split([first], 0)).notYet).toEqual([first]);
    await setCursor(chain, 7);
    // Well within the 100 ms its cursors are reused for.
    expect((await gate.split([first], 0)).ready).toEqual([first]);
  });

  it('stops waiting when its caller is stopping', async () => {
    const chain = `gate-${uniqueSuffix()}`;
    await setCursor(chain, 1);
    const gate = new IngestCommitGate(db);
    let stopping = false;
    setTimeout(() => (stopping = true), 200);
    const started = Date.now();
    const { notYet } = await gate.split([event(chain, '2')], 20_000, () => stopping);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(notYet).toHaveLength(1);
  });
});
