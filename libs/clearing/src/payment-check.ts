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
  /** The service's address on the chain the transaction is on (where anything it received arrived). */
  serviceAddress: string;
}

/** Coins to send back: to the account whose funds moved in the message, in that denom. */
export interface CoinReturn {
  to: string;
  denom: string;
  amount: bigint;
}

/**
 * Everything a transaction's bank messages sent to `address`, one entry per sender and denom (amounts summed), in
 * the order they first appear: what goes back when a payment cannot pay.
 */
export function receivedBy(sends: PaymentFacts['sends'], address: string): CoinReturn[] {
  const out = new Map<string, CoinReturn>();
  for (const send of sends) {
    if (send.to !== address) continue;
    for (const coin of send.amount) {
      const amount = amountOf([coin], coin.denom);
      if (amount === 0n) continue;
      const key = `${send.from}\u0000${coin.denom}`;
      const entry = out.get(key) ?? { to: send.from, denom: coin.denom, amount: 0n };
      entry.amount += amount;
      out.set(key, entry);
    }
  }
  return [...out.values()];
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
  | {
      ok: true;
      payer: string;
      paid: bigint;
      excess: bigint;
      /** Coins in other denoms sent along (they cannot pay): they go back. */
      returns: CoinReturn[];
    }
  | {
      ok: false;
      code: PaymentRefusal;
      message: string;
      /** What reached the service and goes back (empty when nothing did: failed on chain, sent elsewhere, another operation's memo). */
      returns: CoinReturn[];
    };

export type PaymentRefusal = 'payment_failed_on_chain' | 'wrong_chain' | 'wrong_recipient' | 'wrong_denom' | 'memo_mismatch' | 'underpaid' | 'token_expired';

/**
 * Judges a transaction against a quote: it succeeded on chain, on the quoted chain, carries the memo `CLR-<token>`,
 * sends the quoted denom to the service address, at least the quoted amount, in a block no later than the token's
 * expiry. Every refusal says what is wrong in words the payer understands. Pure: the chain was read before.
 */
export function checkPayment(facts: PaymentFacts, want: PaymentExpectation): PaymentCheck {
  if (facts.code !== 0) return refuse('payment_failed_on_chain', `transaction ${facts.txHash} failed on chain (code ${facts.code}); nothing was paid`);
  const received = receivedBy(facts.sends, facts.serviceAddress);
  if (facts.chainId !== want.chainId) return refuse('wrong_chain', `the payment must be made on ${want.chainId}, not ${facts.chainId}`, received);
  if (facts.memo.trim() !== memoFor(want.token)) return refuse('memo_mismatch', `the transaction's memo must be exactly ${memoFor(want.token)}`);
  if (received.length === 0) return refuse('wrong_recipient', `the transaction sends nothing to the service address ${want.address}`);
  const quoted = received.filter((r) => r.denom === want.denom);
  const others = received.filter((r) => r.denom !== want.denom);
  const paid = quoted.reduce((sum, r) => sum + r.amount, 0n);
  if (paid === 0n) {
    const denoms = [...new Set(received.map((r) => r.denom))].join(', ');
    return refuse('wrong_denom', `the payment must be in ${want.denom}; the transaction sent ${denoms}`, received);
  }
  const payer = quoted[0]!.to;
  if (paid < want.amount) {
    return refuse('underpaid', `paid ${paid}${want.denom}, quoted ${want.amount}${want.denom}: ${want.amount - paid}${want.denom} missing`, received);
  }
  if (facts.blockTime.getTime() > want.expiresAt.getTime()) {
    return refuse('token_expired', `the payment was made at ${facts.blockTime.toISOString()}, after the quote expired at ${want.expiresAt.toISOString()}`, received);
  }
  return { ok: true, payer, paid, excess: paid - want.amount, returns: others };
}

function refuse(code: PaymentRefusal, message: string, returns: CoinReturn[] = []): PaymentCheck {
  return { ok: false, code, message, returns };
}

/** "1000uatom to cosmos1…, 5ibc/27…A9 to cosmos1…": what goes back, for messages and logs. */
export function describeReturns(returns: readonly CoinReturn[]): string {
  return returns.map((r) => `${r.amount}${r.denom} to ${r.to}`).join(', ');
}
