import { getHeapStatistics } from 'node:v8';
import { metric } from './metrics';

export type PressureLevel = 'normal' | 'high' | 'critical';

/** Frees memory on demand and returns how many entries it dropped (an in-process cache, for instance). */
export type Shedder = (level: Exclude<PressureLevel, 'normal'>) => number;

export interface MemoryPressureOptions {
  intervalMs: number;
  /** Heap used / heap limit above which half of every shedder's entries go. */
  highRatio: number;
  /** Above this everything sheddable goes. */
  criticalRatio: number;
  /** Reads heap use; injectable so that the thresholds can be tested without filling the heap. */
  readUsage?: () => { used: number; limit: number };
}

const heapUsage = () => {
  const s = getHeapStatistics();
  return { used: s.used_heap_size, limit: s.heap_size_limit };
};

/** Watches heap use against V8's limit and sheds in-process caches before the process runs out of memory (seed 003, task 3.4). */
export class MemoryPressureMonitor {
  private readonly shedders = new Map<string, Shedder>();
  private timer: NodeJS.Timeout | undefined;
  private readonly ratioGauge = metric.gauge({ name: 'memory_heap_used_ratio', help: 'heap used / heap limit' });
  private readonly shedCounter = metric.counter({
    name: 'memory_pressure_shed_total',
    help: 'entries dropped from in-process caches under memory pressure',
    labelNames: ['shedder', 'level'],
  });
  private readonly readUsage: () => { used: number; limit: number };

  constructor(private readonly options: MemoryPressureOptions) {
    if (!(options.highRatio < options.criticalRatio && options.criticalRatio <= 1)) {
      throw new Error('memory pressure thresholds must satisfy high < critical <= 1');
    }
    this.readUsage = options.readUsage ?? heapUsage;
  }

  register(name: string, shedder: Shedder): () => void {
    this.shedders.set(name, shedder);
    return () => this.shedders.delete(name);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One measurement; sheds when over a threshold and says at which level it was. */
  check(): PressureLevel {
    const { used, limit } = this.readUsage();
    const ratio = limit > 0 ? used / limit : 0;
    this.ratioGauge.set(ratio);
    const level: PressureLevel =
      ratio >= this.options.criticalRatio ? 'critical' : ratio >= this.options.highRatio ? 'high' : 'normal';
    if (level !== 'normal') {
      for (const [name, shed] of this.shedders) this.shedCounter.inc({ shedder: name, level }, shed(level));
    }
    return level;
  }
}
