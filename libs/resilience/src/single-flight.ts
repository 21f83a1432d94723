/** Identical concurrent calls share one execution: the first caller runs `fn`, the others await its promise. */
export class SingleFlight<V> {
  private readonly inflight = new Map<string, Promise<V>>();

  do(key: string, fn: () => Promise<V>): Promise<V> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  get size(): number {
    return this.inflight.size;
  }
}
