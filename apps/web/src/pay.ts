import type { OfflineSigner } from '@cosmjs/proto-signing';
import type { WebConfig } from './api';

export interface PaymentInstructions {
  chain_id: string;
  address: string;
  denom: string;
  amount: string;
  memo: string;
}

/** The RPC where a chain's payments can be broadcast from the page, if the deployment names one. */
export const paymentChainOf = (config: WebConfig, chainId: string) => config.payment_chains.find((c) => c.chain_id === chainId);

/**
 * Signs the clearing payment in the browser — a bank send of the quoted amount to the service address with the
 * memo, gas simulated (+30 %) at the chain's gas price — broadcasts it to the chain's RPC and waits until it is in
 * a block. The signer is the demo wallet (development) or Keplr's. Returns the transaction hash. @cosmjs is loaded
 * only when a payment is made.
 */
export async function payFromPage(wallet: 'demo' | 'keplr', pay: PaymentInstructions, config: WebConfig): Promise<string> {
  const chain = paymentChainOf(config, pay.chain_id);
  if (!chain) throw new Error(`payments on ${pay.chain_id} cannot be sent from this page; send them from your wallet`);
  const [{ GasPrice, SigningStargateClient }, { DirectSecp256k1HdWallet }] = await Promise.all([import('@cosmjs/stargate'), import('@cosmjs/proto-signing')]);
  let signer: OfflineSigner;
  if (wallet === 'demo') {
    signer = await DirectSecp256k1HdWallet.fromMnemonic(config.demo_wallet.mnemonic!, { prefix: config.demo_wallet.prefix ?? 'cosmos' });
  } else {
    await window.keplr!.enable(pay.chain_id);
    signer = window.keplr!.getOfflineSigner(pay.chain_id) as OfflineSigner;
  }
  const [account] = await signer.getAccounts();
  const client = await SigningStargateClient.connectWithSigner(chain.rpc, signer, { gasPrice: GasPrice.fromString(chain.gas_price), broadcastPollIntervalMs: 500 });
  try {
    const result = await client.sendTokens(account!.address, pay.address, [{ denom: pay.denom, amount: pay.amount }], 1.3, pay.memo);
    if (result.code !== 0) throw new Error(`the payment failed on chain (code ${result.code}); nothing was paid`);
    return result.transactionHash;
  } finally {
    client.disconnect();
  }
}
