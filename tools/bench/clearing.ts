import { randomBytes } from 'node:crypto';
import { toBech32 } from '@cosmjs/encoding';
import { Client } from 'pg';
import { startBuiltApp, writeChainsFile, type ServiceProcess } from '@unstuck/testing';
import { ADMIN, admin, BENCH_ENV, CHAINS, DB_URL, headOf, INGEST_PORT, percentile, RPC_BASE, runBench, sleep, untilUp } from './harness';
import { recordBenchmark } from './report';

/**
 * npm run bench:clearing — clearing operations end to end against chain-sim: a stuck packet is quoted, paid by a
 * bank send with the CLR- memo, noticed by ingest, verified from the chain's RPC, relayed by a BullMQ job through
 * chain-sim's relay API, seen received by ingest, and completed.
 *
 * 1. Burst: BENCH_CLEARING_BURST operations paid at once (one block) — operations per minute, from the first
 *    payment seen to the last operation completed.
 * 2. Steady: BENCH_CLEARING_RATE payments per second for BENCH_CLEARING_SECONDS — latency from the payment seen
 *    (verified) to completed, split into the chain's part (relay handed to chain-sim → the block holding it) and
 *    ours (everything else: job pickup, RPC reads, the relay call, ingest seeing the block, completion).
 */
const CLEARING_PORT = 23305;
const SECRET = 'bench-gateway-secret-000000000000000000000';
const BURST = Number(process.env.BENCH_CLEARING_BURST ?? 300);
const RATE = Number(process.env.BENCH_CLEARING_RATE ?? 5);
const SECONDS = Number(process.env.BENCH_CLEARING_SECONDS ?? 40);
const BLOCK_MS = Number(process.env.BENCH_CLEARING_BLOCK_MS ?? 1000);

interface Path {
  src: { chainId: string; channelId: string };
  dst: { chainId: string };
}
interface Quote {
  operation_id: string;
  payment: { chain_id: string; address: string; amount: string; denom: string; memo: string };
  wallet: string;
}

async function pool<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

/** Stuck packets sent by fresh wallets, each quoted for clearing on its wallet's chain. */
async function quotedOperations(db: Client, count: number, paths: Path[], prefixes: Map<string, string>): Promise<Quote[]> {
  const transfers = await pool(Array.from({ length: count }, (_, i) => paths[i % paths.length]!), 16, async (path) => {
    const wallet = toBech32(prefixes.get(path.src.chainId)!, randomBytes(20));
    const t = await admin<{ sequence: string }>('/transfer', { src_chain_id: path.src.chainId, src_channel: path.src.channelId, sender: wallet, fate: 'awaiting_recv' });
    return { wallet, packet: { src_chain_id: path.src.chainId, src_port: 'transfer', src_channel: path.src.channelId, sequence: String(t.sequence) } };
  });
  const columns = [transfers.map((t) => t.packet.src_chain_id), transfers.map((t) => t.packet.src_channel), transfers.map((t) => t.packet.sequence)];
  // Ingest has them; then they are marked stuck as the stats aggregator's detector would once they are old enough.
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM packet_keys k JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
          ON k.src_chain_id = t.c AND k.src_port = 'transfer' AND k.src_channel = t.ch AND k.sequence = t.s
          JOIN packet_flow f ON f.created_at = k.created_at AND f.id = k.id`,
      columns,
    );
    if (rows[0]!.n === count) break;
    await sleep(200);
  }
  await db.query(
    `UPDATE packet_flow f SET stuck_kind = 'awaiting_recv', stuck_since = now()
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(c, ch, s)
      WHERE f.src_chain_id = t.c AND f.src_port = 'transfer' AND f.src_channel = t.ch AND f.sequence = t.s`,
    columns,
  );
  return pool(transfers, 8, async (t) => {
    const res = await fetch(`http://127.0.0.1:${CLEARING_PORT}/internal/v1/clearing/quote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-secret': SECRET },
      body: JSON.stringify({ wallet: t.wallet, packets: [t.packet] }),
    });
    if (res.status !== 201) throw new Error(`quote for ${JSON.stringify(t.packet)}: ${res.status} ${await res.text()}`);
    return { ...((await res.json()) as Quote), wallet: t.wallet };
  });
}

const pay = (q: Quote) =>
  admin<{ tx_hash: string }>('/payment', { chain_id: q.payment.chain_id, from: q.wallet, to: q.payment.address, amount: q.payment.amount, denom: q.payment.denom, memo: q.payment.memo });

interface Timing {
  status: string;
  seen: number;
  relayed: number | null;
  landed: number | null;
  completed: number | null;
}

/** Waits until every operation has finished (or the time is up), then reads each one's timeline from the database. */
async function timings(db: Client, ids: string[], timeoutMs: number): Promise<Timing[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM clearing_operations WHERE id = ANY($1) AND status IN ('paid', 'clearing', 'quoted')`, [ids]);
    if (rows[0]!.n === 0) break;
    await sleep(250);
  }
  const { rows } = await db.query<Timing>(
    `SELECT o.status,
            extract(epoch FROM p.verified_at) * 1000 AS seen,
            extract(epoch FROM cp.relayed_at) * 1000 AS relayed,
            extract(epoch FROM f.recv_time) * 1000 AS landed,
            extract(epoch FROM o.completed_at) * 1000 AS completed
       FROM clearing_operations o
       JOIN payments p ON p.operation_id = o.id
       JOIN clearing_operation_packets cp ON cp.operation_id = o.id
       LEFT JOIN packet_flow f ON f.src_chain_id = cp.src_chain_id AND f.src_port = cp.src_port AND f.src_channel = cp.src_channel AND f.sequence = cp.sequence
      WHERE o.id = ANY($1)`,
    [ids],
  );
  return rows.map((r) => ({ ...r, seen: Number(r.seen), relayed: r.relayed === null ? null : Number(r.relayed), landed: r.landed === null ? null : Number(r.landed), completed: r.completed === null ? null : Number(r.completed) }));
}

async function run(): Promise<void> {
  const sim = startBuiltApp('chain-sim', {
    CHAIN_SIM_RPC_BASE_PORT: String(RPC_BASE),
    CHAIN_SIM_ADMIN_PORT: '28600',
    CHAIN_SIM_BLOCK_MS: String(BLOCK_MS),
    CHAIN_SIM_TRANSFERS_PER_BLOCK: '5',
    CHAIN_SIM_SEED: '12',
  });
  const services: ServiceProcess[] = [sim];
  const db = new Client({ connectionString: DB_URL });
  await db.connect();
  try {
    await untilUp(`${ADMIN}/chains`, 20_000);
    const heads = await Promise.all(CHAINS.map((c) => headOf(c.port)));
    const chainsFile = writeChainsFile(CHAINS.map((c, i) => ({ chain_id: c.id, port: c.port, comet_version: c.v, start_height: heads[i]! })));
    const common = { ...BENCH_ENV, CHAINS_FILE: chainsFile, LOG_LEVEL: 'error', GATEWAY_SECRET: SECRET };
    services.push(startBuiltApp('packet-ingest', { ...common, INGEST_PORT: String(INGEST_PORT), INGEST_POLL_INTERVAL_MS: '200' }));
    services.push(startBuiltApp('clearing-service', { ...common, CLEARING_PORT: String(CLEARING_PORT), CHAIN_SIM_ADMIN_URL: ADMIN, CLEARING_TOKEN_TTL_SECONDS: '3600' }));
    for (const port of [INGEST_PORT, CLEARING_PORT]) await untilUp(`http://127.0.0.1:${port}/health/ready`);
    const { chains, paths } = await admin<{ chains: Array<{ chain_id: string; bech32_prefix: string }>; paths: Path[] }>('/chains');
    const prefixes = new Map(chains.map((c) => [c.chain_id, c.bech32_prefix]));

    const steadyCount = Math.round(RATE * SECONDS);
    process.stdout.write(`quoting ${BURST} + ${steadyCount} operations (one stuck packet each)…\n`);
    const quotes = await quotedOperations(db, BURST + steadyCount, paths, prefixes);
    const burst = quotes.slice(0, BURST);
    const steady = quotes.slice(BURST);

    // 1. Burst: every payment at once.
    await pool(burst, 32, pay);
    const burstTimes = await timings(db, burst.map((q) => q.operation_id), 10 * 60_000);
    const burstDone = burstTimes.filter((t) => t.status === 'completed');
    const firstSeen = Math.min(...burstTimes.map((t) => t.seen));
    const lastDone = Math.max(...burstDone.map((t) => t.completed!));
    const perMinute = (burstDone.length / ((lastDone - firstSeen) / 1000)) * 60;
    process.stdout.write(`burst: ${burstDone.length}/${BURST} completed in ${((lastDone - firstSeen) / 1000).toFixed(1)} s = ${Math.round(perMinute)} operations/min\n`);

    // 2. Steady: RATE payments per second.
    const started = Date.now();
    await Promise.all(
      steady.map(async (q, i) => {
        await sleep(started + (i * 1000) / RATE - Date.now());
        await pay(q);
      }),
    );
    const steadyTimes = (await timings(db, steady.map((q) => q.operation_id), 5 * 60_000)).filter((t) => t.status === 'completed' && t.relayed !== null && t.landed !== null);
    const total = steadyTimes.map((t) => t.completed! - t.seen);
    const chain = steadyTimes.map((t) => Math.max(0, t.landed! - t.relayed!));
    const ours = total.map((x, i) => x - chain[i]!);
    const afterBlock = steadyTimes.map((t) => t.completed! - t.landed!);
    const failed = [...burstTimes, ...(await timings(db, steady.map((q) => q.operation_id), 0))].filter((t) => t.status !== 'completed').length;
    const f = (xs: number[], p: number) => `${Math.round(percentile(xs, p))} ms`;
    process.stdout.write(`steady ${RATE}/s: ${steadyTimes.length} completed; payment seen → completed p50 ${f(total, 50)} p99 ${f(total, 99)}; excluding block time p50 ${f(ours, 50)} p99 ${f(ours, 99)}; failed ${failed}\n`);

    recordBenchmark('clearing', [
      `Command: \`npm run bench:clearing\` (chain-sim, ${BLOCK_MS} ms blocks; packet-ingest and one clearing-service with the \`sim\` relayer, 4 jobs per payment chain; one stuck packet per operation; payments are bank sends with the CLR- memo, noticed by ingest).`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| burst of ${BURST} payments in one block: operations completed per minute (first payment seen → last completed) | ${Math.round(perMinute).toLocaleString('en-US')} |`,
      `| operations that did not complete (failed or timed out), both phases | ${failed} |`,
      `| steady ${RATE} payments/s for ${SECONDS} s (${steadyTimes.length} operations timed): payment seen → completed, p50 / p99 | ${f(total, 50)} / ${f(total, 99)} |`,
      `| same, excluding block time (the relay's wait for its block taken out), p50 / p99 | ${f(ours, 50)} / ${f(ours, 99)} |`,
      `| of which after the block: block time → completed (ingest sees the receipt, the operation completes), p50 / p99 | ${f(afterBlock, 50)} / ${f(afterBlock, 99)} |`,
      `| the chain's part: relay handed to chain-sim → its block, p50 / p99 | ${f(chain, 50)} / ${f(chain, 99)} |`,
      '',
      '"Payment seen" is the moment the payment was verified and recorded (ingest noticed the transfer and the service read it back from the RPC).',
      'chain-sim, packet-ingest, the clearing service, PostgreSQL, Redis and NATS share the same two cores.',
    ]);
  } finally {
    await db.end();
    for (const s of services.reverse()) s.kill('SIGTERM');
    await sleep(1_500);
  }
}

runBench(run);
