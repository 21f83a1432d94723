import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HotWallet } from '@unstuck/clearing';
import { CometRpcClient, loadChainsConfig, feeToken } from '@unstuck/packets';
import { CLEARING_ENV } from './tokens';
import type { AppEnv } from './env';

/** One chain payments can be made on: where to read it, what it charges in, and our wallet there. */
export interface PaymentChain {
  chainId: string;
  prefix: string;
  denom: string;
  gasPrice: string;
  rpc: CometRpcClient;
  wallet: HotWallet;
}

/**
 * The chains of CHAINS_FILE, with what chain-registry says about each (bech32 prefix, fee token and its average
 * gas price) and the hot wallet's address on it. A chain the registry does not know cannot take payments.
 */
@Injectable()
export class PaymentChains implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PaymentChains.name);
  private readonly chains = new Map<string, PaymentChain>();
  private readonly rpcs = new Map<string, CometRpcClient>();
  private loading: Promise<void> | undefined;

  constructor(@Inject(CLEARING_ENV) private readonly env: AppEnv) {}

  /** Nest starts providers' hooks together: whoever needs the chains first waits for them here. */
  ready(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  onModuleInit(): Promise<void> {
    return this.ready();
  }

  private async load(): Promise<void> {
    for (const c of loadChainsConfig(this.env.CHAINS_FILE)) {
      // Every followed chain is read (channel and client state before a quote), whether or not it takes payments.
      const rpc = new CometRpcClient(c.chain_id, c.rpc, { timeoutMs: this.env.RPC_TIMEOUT_MS, attempts: 3 });
      this.rpcs.set(c.chain_id, rpc);
      const token = feeToken(c.chain_id);
      if (!token) {
        this.logger.warn(`${c.chain_id}: not in chain-registry with a fee token; no payments on this chain`);
        continue;
      }
      const { denom, gasPrice, bech32Prefix } = token;
      const wallet = await HotWallet.fromMnemonic(this.env.HOT_WALLET_MNEMONIC, { chainId: c.chain_id, rpc: c.rpc[0]!, prefix: bech32Prefix, gasPrice: `${gasPrice}${denom}` });
      this.chains.set(c.chain_id, { chainId: c.chain_id, prefix: bech32Prefix, denom, gasPrice, rpc, wallet });
      this.logger.log(`${c.chain_id}: payments in ${token.denom} to ${wallet.address} (gas price ${gasPrice})`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    for (const c of this.chains.values()) c.wallet.disconnect();
    await Promise.all([...this.rpcs.values()].map((rpc) => rpc.close()));
  }

  /** The RPC client of a followed chain (payments taken there or not). */
  rpcOf(chainId: string): CometRpcClient | undefined {
    return this.rpcs.get(chainId);
  }

  get(chainId: string): PaymentChain | undefined {
    return this.chains.get(chainId);
  }

  /** The chain whose addresses start with this bech32 prefix (the wallet pays on its own chain). */
  byPrefix(prefix: string): PaymentChain | undefined {
    return [...this.chains.values()].find((c) => c.prefix === prefix);
  }

  all(): PaymentChain[] {
    return [...this.chains.values()];
  }
}
