import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

/** The one registry a process exports on GET /metrics. */
export const metricsRegistry = new Registry();
let defaultsCollected = false;

/** Default Node metrics (CPU, heap, GC, event-loop lag percentiles) labelled with the service name. */
export function initMetrics(service: string): void {
  metricsRegistry.setDefaultLabels({ service });
  if (!defaultsCollected) {
    collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 10 });
    defaultsCollected = true;
  }
}

type Config<C> = Omit<C, 'registers'>;

/**
 * Get-or-create: a library may be instantiated more than once in one process (tests, several Nest apps), and
 * prom-client refuses a second metric with the same name.
 */
function getOrCreate<M>(name: string, create: () => M): M {
  return (metricsRegistry.getSingleMetric(name) as M | undefined) ?? create();
}

export const metric = {
  counter: <T extends string>(c: Config<CounterConfiguration<T>>) =>
    getOrCreate(c.name, () => new Counter<T>({ ...c, registers: [metricsRegistry] })),
  gauge: <T extends string>(c: Config<GaugeConfiguration<T>>) =>
    getOrCreate(c.name, () => new Gauge<T>({ ...c, registers: [metricsRegistry] })),
  histogram: <T extends string>(c: Config<HistogramConfiguration<T>>) =>
    getOrCreate(c.name, () => new Histogram<T>({ ...c, registers: [metricsRegistry] })),
};

export const httpRequestDuration = () =>
  metric.histogram({
    name: 'http_server_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
