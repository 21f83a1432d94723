import { Controller, Get, Header, Inject, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleState, READINESS_CHECKS, type ReadinessCheck } from './readiness';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: LifecycleState,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
  ) {}

  /** The process is alive and its event loop turns; dependencies are not consulted. */
  @Get('live')
  @Header('Cache-Control', 'no-store')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  @HealthCheck()
  ready() {
    if (this.lifecycle.shuttingDown) {
      throw new ServiceUnavailableException({ status: 'error', error: { shutdown: { status: 'down', message: 'shutting down' } } });
    }
    return this.health.check(
      this.checks.map((c) => async () => {
        const session = this.indicators.check(c.name);
        try {
          const details = (await withTimeout(c.check(), CHECK_TIMEOUT_MS, c.name)) ?? {};
          return session.up(details);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          return c.critical ? session.down({ message }) : session.up({ degraded: true, message });
        }
      }),
    );
  }
}
