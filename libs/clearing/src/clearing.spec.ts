import { checkPayment, receivedBy, type PaymentExpectation, type PaymentFacts } from './payment-check';
import { amountOf, gasCost, parseDecimal, quoteFee } from './money';
import { hashToken, isTokenShaped, memoFor, newClearingToken, tokenFromMemo } from './tokens';

describe('money', () => {
  it('parses decimal gas prices exactly', () => {
    expect(parseDecimal('0.025')).toEqual({ numerator: 25n, denominator: 1000n });
    expect(parseDecimal('3')).toEqual({ numerator: 3n, denominator: 1n });
    expect(() => parseDecimal('-1')).toThrow(/not a non-negative decimal/);
    expect(() => parseDecimal('1e-3')).toThrow();
  });

  it('rounds gas cost up to the next base unit', () => {
    expect(gasCost(200_000n, '0.025')).toBe(5_000n);
    expect(gasCost(1n, '0.025')).toBe(1n);
    expect(gasCost(0n, '0.025')).toBe(0n);
  });

  it('quotes base + per packet + gas per chain, in integers', () => {
    const q = quoteFee({ base: 10_000n, perPacket: 2_000n, gasPerPacket: 150_000n }, new Map([['osmosis-1', 2], ['cosmoshub-4', 1]]), '0.0025');
    expect(q).toEqual({ base: 10_000n, perPacket: 6_000n, gas: 750n + 375n, total: 10_000n + 6_000n + 1_125n });
    expect(() => quoteFee({ base: 1n, perPacket: 1n, gasPerPacket: 1n }, new Map(), '1')).toThrow(/at least one packet/);
  });

  it('sums one denom among coins and refuses non-integers', () => {
    expect(amountOf([{ denom: 'uatom', amount: '5' }, { denom: 'uosmo', amount: '7' }, { denom: 'uatom', amount: '1' }], 'uatom')).toBe(6n);
    expect(() => amountOf([{ denom: 'uatom', amount: '1.5' }], 'uatom')).toThrow(/base units/);
  });
});

describe('clearing tokens', () => {
  it('are 256 random bits, stored only as their hash, and read back from the memo', () => {
    const { token, hash } = newClearingToken();
    expect(isTokenShaped(token)).toBe(true);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(hash).toBe(hashToken(token));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(newClearingToken().token).not.toBe(token);
    expect(tokenFromMemo(memoFor(token))).toBe(token);
    expect(tokenFromMemo(`  ${memoFor(token)} `)).toBe(token);
    expect(tokenFromMemo('CLR-short')).toBeUndefined();
    expect(tokenFromMemo(token)).toBeUndefined();
  });
});

describe('checkPayment', () => {
  const token = 'a'.repeat(43);
  const want: PaymentExpectation = { chainId: 'osmosis-1', address: 'osmo1service', denom: 'uosmo', amount: 1_000n, token, expiresAt: new Date('2026-01-01T00:05:00Z') };
  const facts = (over: Partial<PaymentFacts> = {}, amount = '1000', denom = 'uosmo', to = 'osmo1service'): PaymentFacts => ({
    chainId: 'osmosis-1',
    txHash: 'AB'.repeat(32),
    height: '10',
    blockTime: new Date('2026-01-01T00:04:00Z'),
    code: 0,
    memo: memoFor(token),
    sends: [{ from: 'osmo1payer', to, amount: [{ denom, amount }] }],
    serviceAddress: 'osmo1service',
    ...over,
  });

  it('accepts the exact amount and records an overpayment as excess', () => {
    expect(checkPayment(facts(), want)).toEqual({ ok: true, payer: 'osmo1payer', paid: 1_000n, excess: 0n, returns: [] });
    expect(checkPayment(facts({}, '1500'), want)).toEqual({ ok: true, payer: 'osmo1payer', paid: 1_500n, excess: 500n, returns: [] });
  });

  it.each([
    ['payment_failed_on_chain', facts({ code: 5 }), /failed on chain/],
    ['wrong_chain', facts({ chainId: 'cosmoshub-4' }), /must be made on osmosis-1/],
    ['memo_mismatch', facts({ memo: 'CLR-' + 'b'.repeat(43) }), /memo must be exactly/],
    ['wrong_recipient', facts({}, '1000', 'uosmo', 'osmo1someoneelse'), /sends nothing to the service address/],
    ['wrong_denom', facts({}, '1000', 'uatom'), /must be in uosmo; the transaction sent uatom/],
    ['underpaid', facts({}, '999'), /1uosmo missing/],
    ['token_expired', facts({ blockTime: new Date('2026-01-01T00:05:01Z') }), /after the quote expired/],
  ])('refuses %s with a reason the payer understands', (code, f, message) => {
    const r = checkPayment(f, want);
    expect(r).toMatchObject({ ok: false, code });
    expect(!r.ok && r.message).toMatch(message);
  });

  it('says what reached the service when a refused payment still paid it (underpaid, too late, another denom, another chain), so it goes back', () => {
    expect(checkPayment(facts({}, '999'), want)).toMatchObject({ ok: false, code: 'underpaid', returns: [{ to: 'osmo1payer', denom: 'uosmo', amount: 999n }] });
    expect(checkPayment(facts({ blockTime: new Date('2026-01-01T00:05:01Z') }, '1200'), want)).toMatchObject({ code: 'token_expired', returns: [{ amount: 1_200n }] });
    const ibc = 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2';
    expect(checkPayment(facts({}, '1000', ibc), want)).toMatchObject({ code: 'wrong_denom', returns: [{ to: 'osmo1payer', denom: ibc, amount: 1_000n }] });
    // Paid on another chain: what reached the service's address there goes back there.
    expect(checkPayment(facts({ chainId: 'cosmoshub-4', serviceAddress: 'osmo1service' }), want)).toMatchObject({ code: 'wrong_chain', returns: [{ amount: 1_000n }] });
    // Nothing of ours arrived, or it is another operation's payment: nothing to send back here.
    expect(checkPayment(facts({}, '1000', 'uosmo', 'osmo1someoneelse'), want)).toMatchObject({ returns: [] });
    expect(checkPayment(facts({ memo: 'CLR-' + 'b'.repeat(43) }), want)).toMatchObject({ returns: [] });
    expect(checkPayment(facts({ code: 5 }), want)).toMatchObject({ returns: [] });
  });

  it('accepts the quoted denom and sends back every other coin to the account it came from, summed per sender and denom', () => {
    const ibc = 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2';
    const f = facts({
      sends: [
        { from: 'osmo1payer', to: 'osmo1service', amount: [{ denom: 'uosmo', amount: '1000' }, { denom: ibc, amount: '5' }] },
        { from: 'osmo1granter', to: 'osmo1service', amount: [{ denom: ibc, amount: '7' }] },
        { from: 'osmo1payer', to: 'osmo1service', amount: [{ denom: ibc, amount: '1' }] },
        { from: 'osmo1payer', to: 'osmo1elsewhere', amount: [{ denom: ibc, amount: '100' }] },
      ],
    });
    expect(checkPayment(f, want)).toEqual({
      ok: true,
      payer: 'osmo1payer',
      paid: 1_000n,
      excess: 0n,
      returns: [
        { to: 'osmo1payer', denom: ibc, amount: 6n },
        { to: 'osmo1granter', denom: ibc, amount: 7n },
      ],
    });
    expect(receivedBy(f.sends, 'osmo1service')).toHaveLength(3);
  });
});
