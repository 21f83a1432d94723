import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { GATEWAY_ENV } from './tokens';
import type { AppEnv } from './env';

/** What the dashboard needs to know at start: where the notifier is, and whether the demo wallet is on. */
@ApiTags('dashboard')
@Controller('config')
export class WebConfigController {
  constructor(@Inject(GATEWAY_ENV) private readonly env: AppEnv) {}

  @Get()
  @ApiOperation({ summary: "The dashboard's runtime configuration" })
  get() {
    const demo = this.env.WEB_DEMO_WALLET && this.env.NODE_ENV !== 'production';
    return {
      notifier_url: this.env.WEB_NOTIFIER_URL || null,
      demo_wallet: demo ? { enabled: true, mnemonic: this.env.WEB_DEMO_MNEMONIC, prefix: 'cosmos' } : { enabled: false },
    };
  }
}
