import { Module, type DynamicModule } from '@nestjs/common';
import { ClearingStore } from '@unstuck/clearing';
import { Database } from '@unstuck/db';
import { PlatformModule } from '@unstuck/platform';
import { ChainStateReader } from './chain-state';
import { PacketOutcomeConsumer, PaymentObservedConsumer } from './clearing.consumers';
import { ClearingJobs } from './clearing.jobs';
import { ClearingService } from './clearing.service';
import { InternalController } from './internal.controller';
import { PaymentChains } from './payment-chains';
import { CLEARING_ENV } from './tokens';
import type { AppEnv } from './env';

export const SERVICE_NAME = 'clearing-service';

@Module({})
export class AppModule {
  static register(env: AppEnv): DynamicModule {
    return {
      module: AppModule,
      // Redis is critical here: the clearing jobs (BullMQ) live in it.
      imports: [PlatformModule.forRoot(env, { service: SERVICE_NAME, redisCritical: true })],
      controllers: [InternalController],
      providers: [
        { provide: CLEARING_ENV, useValue: env },
        { provide: ClearingStore, useFactory: (db: Database) => new ClearingStore(db), inject: [Database] },
        PaymentChains,
        ChainStateReader,
        ClearingService,
        ClearingJobs,
        PacketOutcomeConsumer,
        PaymentObservedConsumer,
      ],
    };
  }
}
