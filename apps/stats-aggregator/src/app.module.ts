import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule } from '@unstuck/platform';
import { StatsModule } from '@unstuck/stats';
import type { AppEnv } from './env';

export const SERVICE_NAME = 'stats-aggregator';

@Module({})
export class AppModule {
  static register(env: AppEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(env, { service: SERVICE_NAME, redisCritical: false }), StatsModule.forRoot(env)],
    };
  }
}
