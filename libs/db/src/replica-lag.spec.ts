import { lsnBytes, NEAR_BYTES, ReplicaLagEstimator } from './replica-lag';

const lsn = (bytes: bigint) => `${(bytes >> 32n).toString(16).toUpperCase()}/${(bytes & 0xffffffffn).toString(16).toUpperCase()}`;
const BASE = 0x16_b374_d848n;

describe('ReplicaLagEstimator', () => {
  it('reads pg_lsn text as a byte position', () => {
    expect(lsnBytes('0/0')).toBe(0n);
    expect(lsnBytes('16/B374D848')).toBe(BASE);
    expect(lsn(BASE)).toBe('16/B374D848');
    expect(() => lsnBytes('B374D848')).toThrow(/not a pg_lsn/);
  });

  it('is 0 when the replica has replayed what the primary had', () => {
    const e = new ReplicaLagEstimator();
    expect(e.measure({ primaryLsn: lsn(BASE), replayLsn: lsn(BASE), sinceReplayMs: 600_000, now: 0 })).toBe(0);
    expect(e.measure({ primaryLsn: lsn(BASE), replayLsn: lsn(BASE + 8n), sinceReplayMs: 600_000, now: 1 })).toBe(0);
  });

  it('does not take a replica milliseconds behind on a quiet primary for minutes behind', () => {
    // The last transaction the replica replayed is ten minutes old; a new commit has just landed on the primary.
    const e = new ReplicaLagEstimator();
    expect(e.measure({ primaryLsn: lsn(BASE + 4_096n), replayLsn: lsn(BASE), sinceReplayMs: 600_000, now: 0 })).toBe(0);
    // Still not replayed a second later: at least a second behind.
    expect(e.measure({ primaryLsn: lsn(BASE + 4_096n), replayLsn: lsn(BASE), sinceReplayMs: 601_000, now: 1_000 })).toBe(1_000);
    expect(e.measure({ primaryLsn: lsn(BASE + 4_096n), replayLsn: lsn(BASE + 4_096n), sinceReplayMs: 0, now: 1_100 })).toBe(0);
  });

  it('measures from the oldest position the primary had reached and the replica has not replayed', () => {
    const e = new ReplicaLagEstimator();
    e.measure({ primaryLsn: lsn(BASE), replayLsn: lsn(BASE), sinceReplayMs: 0, now: 0 });
    expect(e.measure({ primaryLsn: lsn(BASE + 100n), replayLsn: lsn(BASE + 10n), sinceReplayMs: 50, now: 1_000 })).toBe(0);
    expect(e.measure({ primaryLsn: lsn(BASE + 200n), replayLsn: lsn(BASE + 50n), sinceReplayMs: 50, now: 2_000 })).toBe(1_000);
    expect(e.measure({ primaryLsn: lsn(BASE + 300n), replayLsn: lsn(BASE + 60n), sinceReplayMs: 50, now: 7_000 })).toBe(6_000);
    // Past the first position, not the second: the second was seen at 2 s.
    expect(e.measure({ primaryLsn: lsn(BASE + 300n), replayLsn: lsn(BASE + 100n), sinceReplayMs: 50, now: 8_000 })).toBe(6_000);
    expect(e.measure({ primaryLsn: lsn(BASE + 300n), replayLsn: lsn(BASE + 250n), sinceReplayMs: 50, now: 8_500 })).toBe(1_500);
  });

  it('takes a replica far behind at first sight as stale as its last replayed transaction, until it passes that point', () => {
    const e = new ReplicaLagEstimator();
    const far = BASE + NEAR_BYTES * 64n;
    expect(e.measure({ primaryLsn: lsn(far), replayLsn: lsn(BASE), sinceReplayMs: 3_600_000, now: 10_000 })).toBe(3_600_000);
    expect(e.measure({ primaryLsn: lsn(far + 10n), replayLsn: lsn(BASE + NEAR_BYTES), sinceReplayMs: 3_500_000, now: 11_000 })).toBe(3_601_000);
    // It has replayed past where the primary was when first seen; the position seen at 11 s is still ahead of it.
    expect(e.measure({ primaryLsn: lsn(far + 20n), replayLsn: lsn(far + 5n), sinceReplayMs: 10, now: 12_000 })).toBe(1_000);
    // Never replayed a transaction: unknown, so as stale as can be.
    expect(new ReplicaLagEstimator().measure({ primaryLsn: lsn(far), replayLsn: lsn(BASE), sinceReplayMs: null, now: 0 })).toBe(Number.POSITIVE_INFINITY);
  });

  it('looks afresh after a reset (the replica could not be asked)', () => {
    const e = new ReplicaLagEstimator();
    e.measure({ primaryLsn: lsn(BASE), replayLsn: lsn(BASE), sinceReplayMs: 0, now: 0 });
    e.reset();
    const far = BASE + NEAR_BYTES * 2n;
    expect(e.measure({ primaryLsn: lsn(far), replayLsn: lsn(BASE), sinceReplayMs: 90_000, now: 60_000 })).toBe(90_000);
  });

  it('keeps the oldest pending position when it holds too many', () => {
    const e = new ReplicaLagEstimator(3);
    e.measure({ primaryLsn: lsn(BASE), replayLsn: lsn(BASE), sinceReplayMs: 0, now: 0 });
    for (let i = 1; i <= 10; i++) e.measure({ primaryLsn: lsn(BASE + BigInt(i)), replayLsn: lsn(BASE), sinceReplayMs: 0, now: i * 1_000 });
    expect(e.measure({ primaryLsn: lsn(BASE + 10n), replayLsn: lsn(BASE), sinceReplayMs: 0, now: 20_000 })).toBe(19_000);
  });
});
