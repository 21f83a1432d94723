import { Global, Module, type DynamicModule, type InjectionToken, type OnModuleDestroy, type OnModuleInit, Inject } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { loggerModule } from './logger';
import { MemoryPressureMonitor } from './memory-pressure';
import { MetricsController } from './metrics.controller';
import { initMetrics } from './metrics';
import { LifecycleState, READINESS_CHECKS, type ReadinessCheck } from './readiness';

export interface ObservabilityOptions {
  service: string;
  logLevel: string;
  /** Providers (registered by the infrastructure modules) whose checks /health/ready runs. */
  readiness: InjectionToken<ReadinessCheck>[];
  memory?: { intervalMs: number; highRatio: number; criticalRatio: number };
}

const MEMORY_OPTIONS = Symbol('MEMORY_OPTIONS');

class MemoryPressureLifecycle implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(MemoryPressureMonitor) private readonly monitor: MemoryPressureMonitor) {}
  onModuleInit(): void {
    this.monitor.start();
  }
  onModuleDestroy(): void {
    this.monitor.stop();
  }
}

/** Logging, metrics, health routes and the memory-pressure monitor: imported once by every app. */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    initMetrics(options.service);
    return {
      module: ObservabilityModule,
      imports: [loggerModule(options.service, options.logLevel), TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        LifecycleState,
        { provide: MEMORY_OPTIONS, useValue: options.memory ?? { intervalMs: 30_000, highRatio: 0.85, criticalRatio: 0.95 } },
        {
          provide: MemoryPressureMonitor,
          useFactory: (o: { intervalMs: number; highRatio: number; criticalRatio: number }) => new MemoryPressureMonitor(o),
          inject: [MEMORY_OPTIONS],
        },
        MemoryPressureLifecycle,
        {
          provide: READINESS_CHECKS,
          useFactory: (...checks: ReadinessCheck[]) => checks,
          inject: options.readiness,
        },
      ],
      exports: [LifecycleState, MemoryPressureMonitor],
    };
  }
}
