import { MemoryPressureMonitor } from './memory-pressure';

describe('MemoryPressureMonitor', () => {
  const monitorAt = (ratio: number) =>
    new MemoryPressureMonitor({ intervalMs: 1000, highRatio: 0.85, criticalRatio: 0.95, readUsage: () => ({ used: ratio * 100, limit: 100 }) });

  it('does nothing under the high threshold', () => {
    const m = monitorAt(0.5);
    const shed = jest.fn(() => 0);
    m.register('l1', shed);
    expect(m.check()).toBe('normal');
    expect(shed).not.toHaveBeenCalled();
  });

  it('asks every shedder to shed at the level reached', () => {
    for (const [ratio, level] of [
      [0.9, 'high'],
      [0.97, 'critical'],
    ] as const) {
      const m = monitorAt(ratio);
      const a = jest.fn(() => 3);
      const b = jest.fn(() => 1);
      m.register('a', a);
      m.register('b', b);
      expect(m.check()).toBe(level);
      expect(a).toHaveBeenCalledWith(level);
      expect(b).toHaveBeenCalledWith(level);
    }
  });

  it('stops calling a shedder once it unregistered', () => {
    const m = monitorAt(0.99);
    const shed = jest.fn(() => 0);
    const unregister = m.register('l1', shed);
    unregister();
    m.check();
    expect(shed).not.toHaveBeenCalled();
  });

  it('rejects thresholds in the wrong order', () => {
    expect(() => new MemoryPressureMonitor({ intervalMs: 1, highRatio: 0.9, criticalRatio: 0.8 })).toThrow(/high < critical/);
  });
});
