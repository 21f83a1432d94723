import { Module, type DynamicModule } from '@nestjs/common';
import { IngestModule } from '@unstuck/packets';
import { PlatformModule } from '@unstuck/platform';
import type { AppEnv } from './env';

export const SERVICE_NAME = 'packet-ingest';

@Module({})
export class AppModule {
  static register(env: AppEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(env, { service: SERVICE_NAME, redisCritical: false }), IngestModule.forRoot(env)],
    };
  }
}
