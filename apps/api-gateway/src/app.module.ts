import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { PlatformModule } from '@unstuck/platform';
import { AuthController } from './auth/auth.controller';
import { WalletAuthGuard } from './auth/auth.guard';
import { AuthService } from './auth/auth.service';
import { CacheWarmer } from './cache/cache-warmer';
import { ClearingClient, ClearingController, ClearingReads } from './clearing/clearing.controller';
import { WalletInvalidationConsumer } from './cache/wallet-invalidation.consumer';
import { GatewayDb } from './data/gateway-db';
import { ApiExceptionFilter } from './http/errors';
import { OperationsController, OperationsService } from './operations/operations.controller';
import { PacketsController } from './packets/packets.controller';
import { PacketsService } from './packets/packets.service';
import { StuckWalletIndex } from './packets/stuck-wallet-index';
import { StatsController } from './stats/stats.controller';
import { StatsService } from './stats/stats.service';
import { GATEWAY_ENV } from './tokens';
import { WebConfigController } from './web-config.controller';
import type { AppEnv } from './env';

export const SERVICE_NAME = 'api-gateway';

@Module({})
export class AppModule {
  static register(env: AppEnv): DynamicModule {
    return {
      module: AppModule,
      imports: [PlatformModule.forRoot(env, { service: SERVICE_NAME, redisCritical: false })],
      controllers: [PacketsController, StatsController, OperationsController, AuthController, ClearingController, WebConfigController],
      providers: [
        { provide: GATEWAY_ENV, useValue: env },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        GatewayDb,
        PacketsService,
        StuckWalletIndex,
        StatsService,
        OperationsService,
        AuthService,
        WalletAuthGuard,
        WalletInvalidationConsumer,
        CacheWarmer,
        ClearingClient,
        ClearingReads,
      ],
    };
  }
}
