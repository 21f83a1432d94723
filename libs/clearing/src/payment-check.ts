import { amountOf } from './money';
import { memoFor } from './tokens';

/** What the chain says about a transaction offered as a payment. */
export interface PaymentFacts {
  chainId: string;
  txHash: string;
  height: string;
  blockTime: Date;
  /** 0 = the transaction succeeded. */
  code: number;
  memo: string;
  sends: ReadonlyArray<{ from: string; to: string; amount: ReadonlyArray<{ denom: string; amount: string }> }>;
}

/** What the quote asked for. */
export interface PaymentExpectation {
  chainId: string;
  address: string;
  denom: string;
  amount: bigint;
  token: string;
  expiresAt: Date;
}

export type PaymentCheck =
  | { ok: true; payer: string; paid: bigint; excess: bigint }
  | {
      ok: false;
      code: PaymentRefusal;
      message: string;
      /** The quoted denom did reach the service address with the right memo (underpaid, or too late): it goes back. */
      received?: { payer: string; amount: bigint };
    };

export type PaymentRefusal = 'payment_failed_on_chain' | 'wrong_chain' | 'wrong_recipient' | 'wrong_denom' | 'memo_mismatch' | 'underpaid' | 'token_expired';

/**
 * Judges a transaction against a quote: it succeeded on chain, on the quoted chain, carries the memo `CLR-<token>`,
 * sends the quoted denom to the service address, at least the quoted amount, in a block no later than the token's
 * expiry. Every refusal says what is wrong in words the payer understands. Pure: the chain was read before.
 */
export function checkPayment(facts: PaymentFacts, want: PaymentExpectation): PaymentCheck {
  if (facts.code !== 0) return refuse('payment_failed_on_chain', `transaction ${facts.txHash} failed on chain (code ${facts.code}); nothing was paid`);
  if (facts.chainId !== want.chainId) return refuse('wrong_chain', `the payment must be made on ${want.chainId}, not ${facts.chainId}`);
  if (facts.memo.trim() !== memoFor(want.token)) return refuse('memo_mismatch', `the transaction's memo must be exactly ${memoFor(want.token)}`);
  const toUs = facts.sends.filter((s) => s.to === want.address);
  if (toUs.length === 0) return refuse('wrong_recipient', `the transaction sends nothing to the service address ${want.address}`);
  const paid = toUs.reduce((sum, s) => sum + amountOf(s.amount, want.denom), 0n);
  if (paid === 0n) {
    const denoms = [...new Set(toUs.flatMap((s) => s.amount.map((c) => c.denom)))].join(', ');
    return refuse('wrong_denom', `the payment must be in ${want.denom}; the transaction sent ${denoms || 'nothing'}`);
  }
  const payer = toUs[0]!.from;
  if (paid < want.amount) {
    return refuse('underpaid', `paid ${paid}${want.denom}, quoted ${want.amount}${want.denom}: ${want.amount - paid}${want.denom} missing`, { payer, amount: paid });
  }
  if (facts.blockTime.getTime() > want.expiresAt.getTime()) {
    return refuse('token_expired', `the payment was made at ${facts.blockTime.toISOString()}, after the quote expired at ${want.expiresAt.toISOString()}`, { payer, amount: paid });
  }
  return { ok: true, payer, paid, excess: paid - want.amount };
}

function refuse(code: PaymentRefusal, message: string, received?: { payer: string; amount: bigint }): PaymentCheck {
  return received ? { ok: false, code, message, received } : { ok: false, code, message };
}
