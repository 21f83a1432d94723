import { randomBytes } from 'node:crypto';
import { loadEnv } from '@unstuck/config';
import type { PacketId } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { uniqueSuffix } from '@unstuck/testing';
import { ClearingStore, PacketsHeldError, type NewOperation, type PaymentRecord } from './clearing-store';

/**
 * The rule that a packet is sold once, enforced by PostgreSQL (clearing_packet_holds), under concurrency: N quotes
 * at once for one packet, and a late payment of an expired quote racing a new quote for its packets.
 */
const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
const store = new ClearingStore(db);
beforeAll(() => db.start());
afterAll(() => db.stop());

const packet = (n = 1): PacketId => ({ src_chain_id: `hold-${uniqueSuffix()}`, src_port: 'transfer', src_channel: 'channel-0', sequence: String(n) });
const quote = (packets: PacketId[], expiresInMs = 300_000): NewOperation => ({
  wallet: 'cosmos1holder',
  paymentChainId: 'cosmoshub-4',
  paymentAddress: 'cosmos1service',
  denom: 'uatom',
  base: 1n,
  perPacket: 1n,
  gas: 1n,
  total: 3n,
  tokenHash: randomBytes(32).toString('hex'),
  expiresAt: new Date(Date.now() + expiresInMs),
  packets: packets.map((p) => ({ packet: p, stuckKind: 'awaiting_recv' as const })),
});
const payment = (operationId: string): PaymentRecord & { operationId: string } => ({
  operationId,
  chainId: 'cosmoshub-4',
  txHash: randomBytes(32).toString('hex').toUpperCase(),
  height: '10',
  payer: 'cosmos1holder',
  recipient: 'cosmos1service',
  denom: 'uatom',
  amount: 3n,
  excess: 0n,
  memo: 'CLR-x',
  detectedBy: 'user',
  received: [{ to: 'cosmos1holder', denom: 'uatom', amount: 3n }],
});
const holder = async (p: PacketId) =>
  (await db.query<{ operation_id: string }>(
    `SELECT operation_id::text AS operation_id FROM clearing_packet_holds WHERE src_chain_id = $1 AND src_port = $2 AND src_channel = $3 AND sequence = $4`,
    [p.src_chain_id, p.src_port, p.src_channel, p.sequence],
  ))[0]?.operation_id;
const statusOf = async (id: string) => (await db.query<{ status: string }>(`SELECT status FROM clearing_operations WHERE id = $1`, [id]))[0]!.status;

describe('clearing_packet_holds (real PostgreSQL)', () => {
  it('20 concurrent quotes for one packet: exactly one holds it, the others are refused and leave nothing behind', async () => {
    const p = packet();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => store.createOperation(quote([p]))));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const r of lost) expect(r.reason).toBeInstanceOf(PacketsHeldError);
    expect(await holder(p)).toBe((won[0] as PromiseFulfilledResult<string>).value);
    // A refused quote rolled back whole: one operation exists for the packet.
    const ops = await db.query(`SELECT 1 FROM clearing_operation_packets WHERE src_chain_id = $1`, [p.src_chain_id]);
    expect(ops).toHaveLength(1);
  });

  it('a quote of several packets is refused whole when one of them is held', async () => {
    const [a, b] = [packet(1), packet(2)];
    const first = await store.createOperation(quote([a]));
    const error = await store.createOperation(quote([b, a])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PacketsHeldError);
    expect((error as PacketsHeldError).packets).toEqual([a]);
    expect(await holder(a)).toBe(first);
    expect(await holder(b)).toBeUndefined();
  });

  it('an expired quote lets go; its late payment is then refused (packets_taken) and the new holder keeps them', async () => {
    const p = packet();
    const old = await store.createOperation(quote([p], 50));
    await new Promise((r) => setTimeout(r, 100));
    const fresh = await store.createOperation(quote([p]));
    expect(await holder(p)).toBe(fresh);
    expect((await store.recordPayment(payment(old), [])).outcome).toBe('packets_taken');
    expect(await statusOf(old)).toBe('quoted');
    // The new holder is paid, and holds the packet until it ends.
    expect((await store.recordPayment(payment(fresh), [])).outcome).toBe('recorded');
    await expect(store.createOperation(quote([p], 50))).rejects.toBeInstanceOf(PacketsHeldError);
    await store.transition(fresh, ['paid'], 'failed', 'test');
    const next = await store.createOperation(quote([p]));
    expect(await holder(p)).toBe(next);
  });

  it('a late payment racing a new quote for the same packets: never both, 10 rounds', async () => {
    for (let round = 0; round < 10; round++) {
      const p = packet(round + 1);
      const old = await store.createOperation(quote([p], 20));
      await new Promise((r) => setTimeout(r, 40));
      const [paid, quoted] = await Promise.allSettled([store.recordPayment(payment(old), []), store.createOperation(quote([p]))]);
      const oldPaid = paid.status === 'fulfilled' && paid.value.outcome === 'recorded';
      const newHolds = quoted.status === 'fulfilled';
      expect(oldPaid !== newHolds).toBe(true);
      if (quoted.status === 'rejected') expect(quoted.reason).toBeInstanceOf(PacketsHeldError);
      expect(await holder(p)).toBe(oldPaid ? old : (quoted as PromiseFulfilledResult<string>).value);
    }
  });
});

describe('payments that cannot pay (real PostgreSQL)', () => {
  const ibc = 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2';
  const refundsOf = (paymentTx: string) =>
    db.query<{ recipient: string; denom: string; amount: string; operation_id: string | null }>(
      `SELECT r.recipient, r.denom, r.amount::text AS amount, r.operation_id::text AS operation_id FROM refunds r JOIN payments p ON p.id = r.payment_id
        WHERE p.tx_hash = $1 ORDER BY r.recipient, r.denom`,
      [paymentTx],
    );

  it('a payment naming no operation, in two denoms from two senders, recorded 10 times at once: one payment, one refund per sender and denom', async () => {
    const returns = [
      { to: 'cosmos1alice', denom: 'uatom', amount: 5n },
      { to: 'cosmos1alice', denom: ibc, amount: 7n },
      { to: 'cosmos1bob', denom: ibc, amount: 1n },
    ];
    const record = { ...payment('unused'), operationId: null, amount: 5n, payer: 'cosmos1alice', received: returns };
    const results = await Promise.all(Array.from({ length: 10 }, () => store.recordRefusedPayment(record, { code: 'unknown_token', message: 'no operation' }, returns)));
    expect(new Set(results.map((ids) => ids.join(','))).size).toBe(1);
    expect(results[0]).toHaveLength(3);
    expect(await refundsOf(record.txHash)).toEqual([
      { recipient: 'cosmos1alice', denom: ibc, amount: '7', operation_id: null },
      { recipient: 'cosmos1alice', denom: 'uatom', amount: '5', operation_id: null },
      { recipient: 'cosmos1bob', denom: ibc, amount: '1', operation_id: null },
    ]);
    const [row] = await db.query<{ received: unknown; operation_id: string | null }>(`SELECT received, operation_id FROM payments WHERE tx_hash = $1`, [record.txHash]);
    expect(row).toEqual({ operation_id: null, received: [{ from: 'cosmos1alice', denom: 'uatom', amount: '5' }, { from: 'cosmos1alice', denom: ibc, amount: '7' }, { from: 'cosmos1bob', denom: ibc, amount: '1' }] });
    // Payment-less refunds still name the payment they return (the refund's memo does).
    const refund = await store.refund(results[0]![0]!);
    expect(refund).toMatchObject({ operation_id: null, payment_tx_hash: record.txHash, reason: 'rejected' });
  });

  it('an accepted payment with coins in another denom: the operation is paid and the other coins go back, decided in the same transaction', async () => {
    const op = await store.createOperation(quote([packet()]));
    const p = { ...payment(op), received: [{ to: 'cosmos1holder', denom: 'uatom', amount: 3n }, { to: 'cosmos1holder', denom: ibc, amount: 9n }] };
    const { outcome, refundIds } = await store.recordPayment(p, [{ to: 'cosmos1holder', denom: ibc, amount: 9n }]);
    expect(outcome).toBe('recorded');
    expect(refundIds).toHaveLength(1);
    expect(await refundsOf(p.txHash)).toEqual([{ recipient: 'cosmos1holder', denom: ibc, amount: '9', operation_id: op }]);
    // An excess refund of the quoted denom to the same account is a refund of its own.
    await db.query(`UPDATE payments SET excess_amount = 1 WHERE tx_hash = $1`, [p.txHash]);
    expect(await store.createRefund(op, 'excess')).toBeDefined();
    expect(await refundsOf(p.txHash)).toHaveLength(2);
  });
});
