import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { feeToken } from '@unstuck/packets';
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
      // Chains a payment can be signed for in the browser: its RPC and the gas price of its fee token.
      payment_chains: this.env.WEB_PAYMENT_RPCS.flatMap((pair) => {
        const [chainId, rpc] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
        const token = pair.includes('=') ? feeToken(chainId) : undefined;
        return token ? [{ chain_id: chainId, rpc, gas_price: `${token.gasPrice}${token.denom}` }] : [];
      }),
    };
  }
}
