import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { calculateFee, GasPrice, SigningStargateClient, type DeliverTxResponse } from '@cosmjs/stargate';
import { TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { txHash } from '@unstuck/packets';

export interface HotWalletChain {
  chainId: string;
  rpc: string;
  prefix: string;
  /** e.g. "0.025uosmo": the gas price refunds pay their fee at. */
  gasPrice: string;
}

/** A signed transaction: its bytes (kept, so a retry re-broadcasts exactly these) and hash. */
export interface SignedTx {
  bytes: Uint8Array;
  hash: string;
}

/**
 * The service's hot wallet on one chain: the address payments go to, and the signer of refunds, through the RPC
 * calls any CometBFT node answers (account query, simulate, broadcast_tx_sync, tx search) via @cosmjs/stargate.
 */
export class HotWallet {
  private client: Promise<SigningStargateClient> | undefined;

  private constructor(
    readonly chain: HotWalletChain,
    readonly address: string,
    private readonly signer: DirectSecp256k1HdWallet,
  ) {}

  static async fromMnemonic(mnemonic: string, chain: HotWalletChain): Promise<HotWallet> {
    const signer = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: chain.prefix });
    const [account] = await signer.getAccounts();
    return new HotWallet(chain, account!.address, signer);
  }

  private connect(): Promise<SigningStargateClient> {
    this.client ??= SigningStargateClient.connectWithSigner(this.chain.rpc, this.signer, { gasPrice: GasPrice.fromString(this.chain.gasPrice) }).catch((e: unknown) => {
      this.client = undefined;
      throw e;
    });
    return this.client;
  }

  /** Signs a bank send of `amount` `denom` to `to` (gas simulated, +30 %), without broadcasting it. */
  async signSend(to: string, amount: bigint, denom: string, memo: string): Promise<SignedTx> {
    const client = await this.connect();
    const msg = { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: this.address, toAddress: to, amount: [{ denom, amount: amount.toString() }] } };
    const gas = await client.simulate(this.address, [msg], memo);
    const fee = calculateFee(Math.ceil((gas * 13) / 10), GasPrice.fromString(this.chain.gasPrice));
    const raw = await client.sign(this.address, [msg], fee, memo);
    const bytes = TxRaw.encode(raw).finish();
    return { bytes, hash: txHash(bytes) };
  }

  /**
   * Broadcasts signed bytes and waits until they are in a block. Broadcasting the same bytes again is safe: a node
   * refuses a duplicate, and then the transaction is looked up by hash.
   */
  async broadcast(tx: SignedTx, timeoutMs = 60_000): Promise<DeliverTxResponse | { code: number; transactionHash: string; height: number }> {
    const client = await this.connect();
    try {
      return await client.broadcastTx(tx.bytes, timeoutMs, 500);
    } catch (e) {
      if (!/already exists in cache|tx already in mempool/i.test((e as Error).message)) throw e;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await client.getTx(tx.hash);
        if (found) return { code: found.code, transactionHash: found.hash, height: found.height };
        if (Date.now() > deadline) throw new Error(`transaction ${tx.hash} was not included within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** The transaction, if a block holds it. */
  async find(hash: string): Promise<{ code: number; height: number } | null> {
    const client = await this.connect();
    const found = await client.getTx(hash);
    return found ? { code: found.code, height: found.height } : null;
  }

  disconnect(): void {
    void this.client?.then((c) => c.disconnect()).catch(() => undefined);
    this.client = undefined;
  }
}
