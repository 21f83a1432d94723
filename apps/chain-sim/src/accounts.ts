import { rawSecp256k1PubkeyToRawAddress } from '@cosmjs/amino';
import { toBech32 } from '@cosmjs/encoding';
import { BaseAccount } from 'cosmjs-types/cosmos/auth/v1beta1/auth';
import { QueryAccountRequest, QueryAccountResponse } from 'cosmjs-types/cosmos/auth/v1beta1/query';
import { PubKey } from 'cosmjs-types/cosmos/crypto/secp256k1/keys';
import { SimulateRequest, SimulateResponse } from 'cosmjs-types/cosmos/tx/v1beta1/service';
import { AuthInfo, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { Any } from 'cosmjs-types/google/protobuf/any';

/** What an ABCI query answers (CometBFT's ResponseQuery, as the RPC renders it). */
export interface AbciAnswer {
  code: number;
  log: string;
  value: Uint8Array;
}

/** Gas a simulated MsgSend uses (a real one uses 70–90k). */
const SEND_GAS = 85_000;

/**
 * The accounts of one simulated chain, as far as a signing client needs them: account numbers and sequences
 * (what `@cosmjs/stargate` queries before signing), checked on broadcast the way the ante handler does.
 *
 * Every address exists (a simulated chain where everyone is funded); balances are not tracked. Signatures are
 * not verified; sequences are, so a transaction signed for a sequence already used is refused. As on a real node,
 * two sequences are kept: the mempool's check state (`sequence`, moved by every transaction accepted) and the
 * committed state (`committed`, what the account query answers, moved when a block is sealed). A client that signs
 * two transactions before a block from the account query alone signs both with the same sequence.
 */
export class SimAccounts {
  private readonly accounts = new Map<string, { number: bigint; sequence: bigint; committed: bigint }>();
  private nextNumber = 1n;

  constructor(private readonly prefix: string) {}

  private account(address: string) {
    let a = this.accounts.get(address);
    if (!a) {
      a = { number: this.nextNumber++, sequence: 0n, committed: 0n };
      this.accounts.set(address, a);
    }
    return a;
  }

  /** `abci_query` for the paths a signing client uses; anything else is an unknown path (code 6, as the SDK). */
  query(path: string, data: Uint8Array): AbciAnswer {
    if (path === '/cosmos.auth.v1beta1.Query/Account') {
      const { address } = QueryAccountRequest.decode(data);
      const a = this.account(address);
      const account = BaseAccount.fromPartial({ address, accountNumber: a.number, sequence: a.committed });
      const value = QueryAccountResponse.encode({ account: Any.fromPartial({ typeUrl: BaseAccount.typeUrl, value: BaseAccount.encode(account).finish() }) }).finish();
      return { code: 0, log: '', value };
    }
    if (path === '/cosmos.tx.v1beta1.Service/Simulate') {
      const { txBytes } = SimulateRequest.decode(data);
      const gas = BigInt(SEND_GAS);
      const value = SimulateResponse.encode(
        SimulateResponse.fromPartial({ gasInfo: { gasWanted: gas, gasUsed: gas }, result: { data: new Uint8Array(), log: '', events: [], msgResponses: [] } }),
      ).finish();
      return txBytes.length === 0 ? { code: 2, log: 'empty tx bytes', value: new Uint8Array() } : { code: 0, log: '', value };
    }
    return { code: 6, log: `no query path ${path}`, value: new Uint8Array() };
  }

  /**
   * The ante handler's sequence check for a signed transaction: the signer's sequence must be the account's next
   * one; accepted, it moves on. Returns an error log, or undefined when accepted.
   */
  accept(txBytes: Uint8Array): string | undefined {
    const raw = TxRaw.decode(txBytes);
    const info = AuthInfo.decode(raw.authInfoBytes);
    const signers = [];
    for (const signer of info.signerInfos) {
      if (!signer.publicKey) return 'signer has no public key';
      const a = this.account(this.signerAddress(signer.publicKey.value));
      if (signer.sequence !== a.sequence) return `account sequence mismatch, expected ${a.sequence}, got ${signer.sequence}: incorrect account sequence`;
      signers.push(a);
    }
    for (const a of signers) a.sequence += 1n;
    return undefined;
  }

  /** A block was sealed with every accepted transaction: the committed state catches up with the check state. */
  commit(): void {
    for (const a of this.accounts.values()) a.committed = a.sequence;
  }

  /** The account address of a secp256k1 public key (protobuf `PubKey`), as the SDK derives it. */
  private signerAddress(publicKey: Uint8Array): string {
    return toBech32(this.prefix, rawSecp256k1PubkeyToRawAddress(PubKey.decode(publicKey).key));
  }
}
