import { DirectSecp256k1HdWallet } from '@cosmjs/proto-signing';
import { BroadcastTxError, calculateFee, GasPrice, SigningStargateClient } from '@cosmjs/stargate';
import { AuthInfo, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
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

  /**
   * Signs a bank send of `amount` `denom` to `to` (gas simulated, +30 %), without broadcasting it. With `atLeast`,
   * the sequence is the larger of the account's committed one and `atLeast` (the caller tracks transactions the
   * node accepted but has not committed yet); without it, the committed one.
   */
  async signSend(to: string, amount: bigint, denom: string, memo: string, atLeast?: bigint): Promise<SignedTx & { sequence: bigint }> {
    const client = await this.connect();
    const msg = { typeUrl: '/cosmos.bank.v1beta1.MsgSend', value: { fromAddress: this.address, toAddress: to, amount: [{ denom, amount: amount.toString() }] } };
    const account = await client.getAccount(this.address);
    const committed = BigInt(account?.sequence ?? 0);
    const sequence = atLeast !== undefined && atLeast > committed ? atLeast : committed;
    const gas = await client.simulate(this.address, [msg], memo);
    const fee = calculateFee(Math.ceil((gas * 13) / 10), GasPrice.fromString(this.chain.gasPrice));
    const raw = await client.sign(this.address, [msg], fee, memo, { accountNumber: account?.accountNumber ?? 0n, sequence: Number(sequence), chainId: this.chain.chainId });
    const bytes = TxRaw.encode(raw).finish();
    return { bytes, hash: txHash(bytes), sequence };
  }

  /** The sequence a signed transaction of this wallet carries. */
  static sequenceOf(tx: SignedTx): bigint {
    return BigInt(AuthInfo.decode(TxRaw.decode(tx.bytes).authInfoBytes).signerInfos[0]?.sequence ?? 0n);
  }

  /**
   * Hands signed bytes to the node (broadcast_tx_sync: its CheckTx) without waiting for a block. `accepted` also for
   * bytes the node already holds; `wrong_sequence` with the sequence the node expects when the ante handler refused
   * the sequence; anything else refused throws.
   */
  async submit(tx: SignedTx): Promise<{ outcome: 'accepted' } | { outcome: 'wrong_sequence'; expected: bigint | undefined; log: string }> {
    const client = await this.connect();
    try {
      await client.broadcastTxSync(tx.bytes);
      return { outcome: 'accepted' };
    } catch (e) {
      const log = e instanceof BroadcastTxError ? e.log ?? '' : (e as Error).message;
      if (/already exists in cache|tx already in mempool/i.test(log)) return { outcome: 'accepted' };
      // The SDK's ante handler: "account sequence mismatch, expected 7, got 6: incorrect account sequence" (code 32).
      if (/account sequence mismatch|incorrect account sequence/i.test(log) || (e instanceof BroadcastTxError && e.code === 32)) {
        const expected = /expected (\d+)/.exec(log)?.[1];
        return { outcome: 'wrong_sequence', expected: expected === undefined ? undefined : BigInt(expected), log };
      }
      throw e;
    }
  }

  /** Waits until a block holds the transaction (by hash), up to `timeoutMs`; null when none does by then. */
  async waitIncluded(hash: string, timeoutMs: number, pollMs = 500): Promise<{ code: number; height: number } | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await this.find(hash);
      if (found || Date.now() >= deadline) return found;
      await new Promise((r) => setTimeout(r, pollMs));
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
