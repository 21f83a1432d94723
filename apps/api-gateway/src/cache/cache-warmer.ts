import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { StatsService } from '../stats/stats.service';

/**
 * Warms the hottest keys when an instance starts (the dashboard's first screen: platform totals, networks,
 * channels, the relayer leaderboard, congestion), in the background: a cold database never delays readiness.
 */
@Injectable()
export class CacheWarmer implements OnApplicationBootstrap {
  private readonly logger = new Logger('CacheWarmer');

  constructor(@Inject(StatsService) private readonly stats: StatsService) {}

  onApplicationBootstrap(): void {
    const started = Date.now();
    void Promise.allSettled([
      this.stats.platform(),
      this.stats.networks({}),
      this.stats.channels({ limit: 100 }),
      this.stats.relayers({ limit: 100 }),
      this.stats.congestion({ limit: 20 }),
    ]).then((results) => {
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed > 0) this.logger.warn(`cache warm-up: ${failed} of ${results.length} keys could not be loaded`);
      else this.logger.log(`cache warm-up: ${results.length} keys in ${Date.now() - started} ms`);
    });
  }
}
