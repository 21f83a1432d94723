import { SharedCounter, type CounterRemote } from './shared-counter';

/** Redis's semantics for the counter script, in memory, on a clock the test moves. */
function memoryRemote(clock: { t: number }) {
  const keys = new Map<string, { total: number; expiresAt: number }>();
  let failing = false;
  const remote: CounterRemote = {
    add: async (batch) => {
      if (failing) throw new Error('connection refused');
      return batch.map(({ key, delta, windowMs }) => {
        let k = keys.get(key);
        if (!k || k.expiresAt <= clock.t) keys.set(key, (k = { total: 0, expiresAt: clock.t + windowMs }));
        k.total += delta;
        return { total: k.total, ttlMs: k.expiresAt - clock.t };
      });
    },
  };
  return { remote, keys, fail: (on: boolean) => (failing = on) };
}

describe('SharedCounter', () => {
  const clock = { t: 1_000_000 };
  const now = () => clock.t;
  const counters: SharedCounter[] = [];
  const counter = (remote: CounterRemote, extra: Partial<ConstructorParameters<typeof SharedCounter>[1]> = {}) => {
    const c = new SharedCounter(remote, { syncIntervalMs: 50, maxKeys: 1000, now, ...extra });
    counters.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(counters.splice(0).map((c) => c.close()));
  });

  it('counts exactly on one replica, with no remote round trip per count', async () => {
    const { remote } = memoryRemote(clock);
    const add = jest.spyOn(remote, 'add');
    const c = counter(remote);
    const seen = [1, 2, 3, 4, 5].map(() => c.increment('ip:a', 60_000).current);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(add).not.toHaveBeenCalled();
    await c.sync();
    expect(add).toHaveBeenCalledTimes(1);
    expect(add.mock.calls[0]![0]).toEqual([{ key: 'ip:a', delta: 5, windowMs: 60_000 }]);
    expect(c.increment('ip:a', 60_000).current).toBe(6);
  });

  it("adds the other replicas' counts once synced, and adopts the window the first replica opened", async () => {
    const { remote } = memoryRemote(clock);
    const a = counter(remote);
    const b = counter(remote);
    for (let i = 0; i < 3; i++) a.increment('ip:x', 60_000);
    await a.sync();
    clock.t += 10_000;
    for (let i = 0; i < 2; i++) b.increment('ip:x', 60_000);
    await b.sync();
    // b learnt a's 3 and the window a opened 10 s earlier.
    expect(b.increment('ip:x', 60_000)).toEqual({ current: 6, ttlMs: 50_000 });
    // a learns b's counts when it next sends its own.
    expect(a.increment('ip:x', 60_000).current).toBe(4);
    await a.sync();
    expect(a.increment('ip:x', 60_000).current).toBe(7); // 3 + 2 + a's fourth, then this one
  });

  it('counts that arrive while a sync is on the way are neither lost nor counted twice', async () => {
    const { remote } = memoryRemote(clock);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: CounterRemote = { add: async (batch) => (await gate, remote.add(batch)) };
    const c = counter(slow);
    c.increment('k', 60_000);
    c.increment('k', 60_000);
    const syncing = c.sync();
    expect(c.increment('k', 60_000).current).toBe(3);
    release();
    await syncing;
    expect(c.increment('k', 60_000).current).toBe(4);
    await c.sync();
    expect(c.increment('k', 60_000).current).toBe(5);
  });

  it('keeps counting locally while the remote fails, and says so', async () => {
    const { remote, fail } = memoryRemote(clock);
    const errors: unknown[] = [];
    const c = counter(remote, { onSyncError: (e) => errors.push(e) });
    fail(true);
    c.increment('ip:a', 60_000);
    c.increment('ip:a', 60_000);
    await c.sync();
    expect(errors).toHaveLength(1);
    expect(c.increment('ip:a', 60_000).current).toBe(3);
    fail(false);
    await c.sync();
    expect(errors).toHaveLength(1);
    // The counts the failed sync carried went again with the third.
    expect(c.increment('ip:a', 60_000).current).toBe(4);
  });

  it('starts a new window when the old one ends', async () => {
    const { remote } = memoryRemote(clock);
    const c = counter(remote);
    c.increment('ip:a', 1_000);
    c.increment('ip:a', 1_000);
    await c.sync();
    clock.t += 1_000;
    expect(c.increment('ip:a', 1_000)).toEqual({ current: 1, ttlMs: 1_000 });
    await c.sync();
    expect(c.increment('ip:a', 1_000).current).toBe(2);
  });

  it('holds at most maxKeys windows', async () => {
    const { remote } = memoryRemote(clock);
    const c = counter(remote, { maxKeys: 100 });
    for (let i = 0; i < 1_000; i++) {
      c.increment(`ip:${i}`, 60_000);
      if (i % 10 === 0) await c.sync();
    }
    expect(c.size).toBeLessThanOrEqual(100);
  });
});
