import type { OutgoingEvent } from '@unstuck/messaging';
import { GroupCommitter, type Cursor, type PacketStore } from './packet-store';

/** A store whose commits finish when the test says so, recording what each transaction held. */
function heldStore() {
  const calls: Array<{ events: number; chains: string[]; finish: () => void }> = [];
  const store = {
    commit: (events: readonly OutgoingEvent[], cursors: readonly Cursor[]) =>
      new Promise<void>((resolve) => calls.push({ events: events.length, chains: cursors.map((c) => c.chainId), finish: resolve })),
  } as unknown as PacketStore;
  return { store, calls };
}

const events = (n: number) => Array.from({ length: n }, () => ({ event: 'packet.sent' }) as OutgoingEvent);
const cursor = (chainId: string): Cursor => ({ chainId, height: '1', blockTime: '2024-11-01T00:00:00Z' });
const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommitter', () => {
  it('runs as many transactions at once as it has lanes, and groups what waits meanwhile', async () => {
    const { store, calls } = heldStore();
    const writer = new GroupCommitter(store, 100, 2);
    const done = [writer.commit(events(10), cursor('a')), writer.commit(events(10), cursor('b'))];
    await tick();
    expect(calls.map((c) => c.chains)).toEqual([['a'], ['b']]);

    // Both lanes busy: the next batches wait, and go out together in the first lane that frees.
    done.push(writer.commit(events(10), cursor('c')), writer.commit(events(10), cursor('d')));
    await tick();
    expect(calls).toHaveLength(2);
    calls[1]!.finish();
    await tick();
    expect(calls.map((c) => c.chains)).toEqual([['a'], ['b'], ['c', 'd']]);
    calls[0]!.finish();
    calls[2]!.finish();
    await Promise.all(done);
  });

  it('with one lane, commits one transaction at a time', async () => {
    const { store, calls } = heldStore();
    const writer = new GroupCommitter(store, 100, 1);
    const done = [writer.commit(events(10), cursor('a')), writer.commit(events(10), cursor('b'))];
    await tick();
    expect(calls.map((c) => c.chains)).toEqual([['a']]);
    calls[0]!.finish();
    await tick();
    expect(calls.map((c) => c.chains)).toEqual([['a'], ['b']]);
    calls[1]!.finish();
    await Promise.all(done);
  });

  it('keeps a group within its size, and a failed transaction fails only its own batches', async () => {
    const store = {
      commit: jest.fn(async (evs: readonly OutgoingEvent[], cursors: readonly Cursor[]) => {
        if (cursors.some((c) => c.chainId === 'bad')) throw new Error('constraint violated');
        return evs.length;
      }),
    };
    const writer = new GroupCommitter(store as unknown as PacketStore, 15, 1);
    const results = await Promise.allSettled([
      writer.commit(events(10), cursor('a')),
      writer.commit(events(10), cursor('bad')),
      writer.commit(events(4), cursor('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    // a alone (10 + 10 > 15), then bad and c together (10 + 4): the group with the bad batch fails as a whole.
    expect(store.commit.mock.calls.map(([evs]) => evs.length)).toEqual([10, 14]);
  });
});
