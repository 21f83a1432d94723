import { steadyRate } from './harness';

describe('steadyRate', () => {
  it('measures between the readings that first reach 10 % and 90 % of the backlog', () => {
    const committed = [
      { seconds: 1, events: 0 },
      { seconds: 4, events: 0 },
      { seconds: 5, events: 15_000 },
      { seconds: 7, events: 40_000 },
      { seconds: 9, events: 95_000 },
      { seconds: 12, events: 100_000 },
    ];
    expect(steadyRate(committed, 100_000)).toEqual({ eventsPerSecond: 20_000, from: committed[2], to: committed[4] });
  });

  it('gives nothing when the window has no two distinct readings', () => {
    expect(steadyRate([{ seconds: 3, events: 100_000 }], 100_000)).toBeUndefined();
    expect(steadyRate([{ seconds: 1, events: 0 }], 100_000)).toBeUndefined();
  });
});
