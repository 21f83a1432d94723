import { ChainSimAdmin, startBuiltApp, sumSamples, untilUp, writeChainsFile, type ServiceProcess } from '@unstuck/testing';
import { BENCH_ENV, metricsText, sleep } from './harness';

/**
 * The real-node run of `npm run bench:ingest`: packet-ingest with its default settings catches up a backlog through
 * one endpoint of chain-sim's mainnet profile — CometBFT's batch limit of 10, a rate limit of 20 requests/s that
 * answers 429, and REAL_NODE_LATENCY_MS added to every answer, as a distant public node — and the catch-up rate is
 * set next to the bound the budget allows: 20 requests/s × 5 heights per request = 100 heights/s.
 */
const ADMIN_PORT = 28_700;
const RPC_BASE = 28_757;
const INGEST_PORT = 23_312;
const BLOCKS = Number(process.env.BENCH_REAL_NODE_BLOCKS ?? 1_500);
const LATENCY_MS = Number(process.env.BENCH_REAL_NODE_LATENCY_MS ?? 100);
const RPS = 20;
const BATCH_LIMIT = 10;
/** Heights per second the budget allows: each request carries BATCH_LIMIT / 2 heights (a block and its results each). */
export const REAL_NODE_BOUND = RPS * (BATCH_LIMIT / 2);

export interface RealNodeResult {
  blocks: number;
  heightsPerSecond: number;
  eventsPerSecond: number;
  seconds: number;
  bound: number;
  refusedForBudget: number;
  batchesRefused: number;
  largestBatchAfterRefusal: number;
  requests: number;
  latencyMs: number;
}

export async function realNodeRun(): Promise<RealNodeResult> {
  const sim = startBuiltApp('chain-sim', {
    CHAIN_SIM_RPC_BASE_PORT: String(RPC_BASE),
    CHAIN_SIM_ADMIN_PORT: String(ADMIN_PORT),
    CHAIN_SIM_BLOCK_MS: '20',
    CHAIN_SIM_TRANSFERS_PER_BLOCK: '3',
    CHAIN_SIM_SEED: '13',
    CHAIN_SIM_MAINNET_CHAINS: 'cosmoshub-4',
    // The public endpoint keeps the whole backlog: the run measures the budget, not pruning.
    CHAIN_SIM_MAINNET_RETAIN_BLOCKS: '0',
    CHAIN_SIM_MAINNET_RPS: String(RPS),
    CHAIN_SIM_MAINNET_LATENCY_MS: '0',
  });
  const admin = new ChainSimAdmin(`http://127.0.0.1:${ADMIN_PORT}`);
  let ingest: ServiceProcess | undefined;
  try {
    await untilUp(`${admin.url}/chains`, 20_000);
    const hub = () => admin.chain('cosmoshub-4');
    const start = (await hub()).endpoints[0]!.earliest_height;
    while ((await hub()).height < start + BLOCKS) await sleep(200);
    // The backlog is complete: the chain halts (its transactions wait in the mempool) and the answers slow down.
    await admin.call('/chains/cosmoshub-4/blocks/halt', {});
    await admin.call('/chains/cosmoshub-4/endpoints/main/profile', { latencyMs: LATENCY_MS });
    const head = (await hub()).height;
    const before = (await hub()).endpoints[0]!;
    const chainsFile = writeChainsFile([{ chain_id: 'cosmoshub-4', port: RPC_BASE, start_height: start }]);

    ingest = startBuiltApp('packet-ingest', { ...BENCH_ENV, INGEST_PORT: String(INGEST_PORT), CHAINS_FILE: chainsFile, LOG_LEVEL: 'error' });
    const spawned = performance.now();
    const samples: Array<{ seconds: number; height: number; events: number }> = [];
    for (;;) {
      const text = await metricsText(INGEST_PORT).catch(() => '');
      const height = sumSamples(text, 'ingest_committed_height', 'chain_id="cosmoshub-4"');
      samples.push({ seconds: (performance.now() - spawned) / 1000, height, events: sumSamples(text, 'ingest_events_total', 'chain_id="cosmoshub-4"') });
      if (height >= head) break;
      if (performance.now() - spawned > 600_000) throw new Error(`ingest did not catch up in 10 minutes: at ${height} of ${head}`);
      await sleep(250);
    }
    const blocks = head - start + 1;
    const from = samples.find((s) => s.height >= start + 0.1 * blocks)!;
    const to = samples.find((s) => s.height >= start + 0.9 * blocks)!;
    const after = (await hub()).endpoints[0]!;
    return {
      blocks,
      heightsPerSecond: (to.height - from.height) / (to.seconds - from.seconds),
      eventsPerSecond: (to.events - from.events) / (to.seconds - from.seconds),
      seconds: samples[samples.length - 1]!.seconds,
      bound: REAL_NODE_BOUND,
      refusedForBudget: after.refused_for_rate - before.refused_for_rate,
      batchesRefused: after.batches_refused - before.batches_refused,
      largestBatchAfterRefusal: after.largest_batch_after_refusal,
      requests: after.http_requests - before.http_requests,
      latencyMs: LATENCY_MS,
    };
  } finally {
    ingest?.kill('SIGTERM');
    sim.kill('SIGTERM');
    await sleep(500);
  }
}

/** The lines bench:ingest records for the real-node run. */
export function realNodeLines(r: RealNodeResult): string[] {
  const ratio = r.heightsPerSecond / r.bound;
  return [
    `Real-node run: catch-up of ${r.blocks.toLocaleString('en-US')} blocks (3 transfers per block) through one chain-sim endpoint on the mainnet profile — CometBFT's batch limit of ${BATCH_LIMIT}, a rate limit of ${RPS} requests/s answering 429, ${r.latencyMs} ms added to every answer — with packet-ingest's default settings (budget ${RPS} requests/s per endpoint).`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| heights per second, sustained (10 % → 90 % of the backlog) | ${r.heightsPerSecond.toFixed(1)} |`,
    `| the bound the budget allows (${RPS} requests/s × ${BATCH_LIMIT / 2} heights per request) | ${r.bound} |`,
    `| sustained ÷ bound | ${(ratio * 100).toFixed(0)} % |`,
    `| packet events per second, sustained | ${Math.round(r.eventsPerSecond).toLocaleString('en-US')} |`,
    `| whole catch-up, process start included | ${r.seconds.toFixed(1)} s |`,
    `| HTTP requests sent / batches refused for the limit / largest batch after the first refusal | ${r.requests} / ${r.batchesRefused} / ${r.largestBatchAfterRefusal} |`,
    `| requests refused for the rate limit (429) | ${r.refusedForBudget} |`,
    '',
    `Target: ≥ 80 % of the bound (${ratio >= 0.8 ? 'met' : 'NOT met'}), no request refused for the budget after the first (${r.refusedForBudget <= 1 ? 'met' : 'NOT met'}).`,
  ];
}
