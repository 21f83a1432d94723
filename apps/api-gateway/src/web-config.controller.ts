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
      payment_chains: paymentRpcs(this.env.WEB_PAYMENT_RPCS).flatMap(({ chainId, rpc }) => {
        const token = feeToken(chainId);
        return token ? [{ chain_id: chainId, rpc, gas_price: `${token.gasPrice}${token.denom}` }] : [];
      }),
    };
  }
}

/** WEB_PAYMENT_RPCS (`chain_id=url` pairs); a pair without `=` or with a malformed URL is left out. */
export function paymentRpcs(pairs: readonly string[]): Array<{ chainId: string; rpc: string; origin: string }> {
  return pairs.flatMap((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) return [];
    try {
      const rpc = pair.slice(at + 1);
      return [{ chainId: pair.slice(0, at), rpc, origin: new URL(rpc).origin }];
    } catch {
      return [];
    }
  });
}
