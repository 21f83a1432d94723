/** Identical concurrent calls share one execution: the first caller runs `fn`, the others await its promise. */
export class SingleFlight<V> {
  private readonly inflight = new Map<string, Promise<V>>();

  do(key: string, fn: () => Promise<V>): Promise<V> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p: Promise<V> = fn().finally(() => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    });
    this.inflight.set(key, p);
    return p;
  }

  /** Later callers of `key` start a new execution instead of joining the one running (its data is out of date). */
  forget(key: string): void {
    this.inflight.delete(key);
  }

  get size(): number {
    return this.inflight.size;
  }
}
