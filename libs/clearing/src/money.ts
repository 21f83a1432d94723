/**
 * Money in integer base units (uatom, uosmo...), as bigint end to end: no floats anywhere. Gas prices are decimal
 * text ("0.025") turned into an exact fraction.
 */
export class MoneyError extends Error {}

/** "0.025" → { numerator: 25n, denominator: 1000n }. */
export function parseDecimal(text: string): { numerator: bigint; denominator: bigint } {
  const m = /^([0-9]+)(?:\.([0-9]{1,18}))?$/.exec(text.trim());
  if (!m) throw new MoneyError(`"${text}" is not a non-negative decimal number`);
  const fraction = m[2] ?? '';
  return { numerator: BigInt(m[1]! + fraction), denominator: 10n ** BigInt(fraction.length) };
}

/** ceil(gas × price) in base units: what a validator charges at that gas price. */
export function gasCost(gas: bigint, gasPrice: string): bigint {
  const { numerator, denominator } = parseDecimal(gasPrice);
  return (gas * numerator + denominator - 1n) / denominator;
}

export interface FeeSchedule {
  /** Per operation, in base units of the payment denom. */
  base: bigint;
  /** Per packet, in base units. */
  perPacket: bigint;
  /** Gas one relay message costs (MsgRecvPacket, MsgAcknowledgement or MsgTimeout with its client update). */
  gasPerPacket: bigint;
}

export interface Quote {
  base: bigint;
  perPacket: bigint;
  gas: bigint;
  total: bigint;
}

/**
 * fee = base + per_packet × n + Σ over the chains the relays land on of gas_per_packet × packets there × gas price.
 * Gas prices are the payment chain's (the fee is paid in its denom); a relay on another chain is priced at the
 * payment chain's gas price, documented as an estimate.
 */
export function quoteFee(schedule: FeeSchedule, relaysPerChain: ReadonlyMap<string, number>, gasPrice: string): Quote {
  const packets = [...relaysPerChain.values()].reduce((a, b) => a + b, 0);
  if (packets <= 0) throw new MoneyError('a quote needs at least one packet');
  let gas = 0n;
  for (const n of relaysPerChain.values()) gas += gasCost(schedule.gasPerPacket * BigInt(n), gasPrice);
  const perPacket = schedule.perPacket * BigInt(packets);
  return { base: schedule.base, perPacket, gas, total: schedule.base + perPacket + gas };
}

/** The amount of `denom` in a list of coins (0 when absent); amounts must be decimal integer strings. */
export function amountOf(coins: ReadonlyArray<{ denom: string; amount: string }>, denom: string): bigint {
  let total = 0n;
  for (const c of coins) {
    if (c.denom !== denom) continue;
    if (!/^[0-9]{1,78}$/.test(c.amount)) throw new MoneyError(`"${c.amount}" is not an amount in base units`);
    total += BigInt(c.amount);
  }
  return total;
}
