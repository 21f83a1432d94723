import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule } from '@unstuck/platform';
import { EventRouter } from './event-router';
import { MissedUpdates } from './missed-updates';
import { NotifierConsumer } from './notifier.consumer';
import { RealtimeServer } from './realtime.server';
import { NOTIFIER_ENV } from './tokens';
import type { AppEnv } from './env';

export const SERVICE_NAME = 'notifier';

@Module({})
export class AppModule {
  static register(env: AppEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(env, { service: SERVICE_NAME, redisCritical: false })],
      providers: [{ provide: NOTIFIER_ENV, useValue: env }, EventRouter, MissedUpdates, RealtimeServer, NotifierConsumer],
    };
  }
}
