import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule } from '@unstuck/platform';
import type { AppEnv } from './env';

export const SERVICE_NAME = 'clearing-service';

@Module({})
export class AppModule {
  static register(env: AppEnv): DynamicModule {
    return {
      module: AppModule,
      // Redis is critical here: the clearing jobs (BullMQ) live in it.
      imports: [PlatformModule.forRoot(env, { service: SERVICE_NAME, redisCritical: true })],
    };
  }
}
