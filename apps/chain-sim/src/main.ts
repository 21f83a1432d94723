import { z } from 'zod';
import { envVar, loadEnv } from '@unstuck/config';
import { runMain } from '@unstuck/observability';
import { decodeTx } from '@unstuck/packets';
import type { CometVersion, SimChain } from './chain';
import { SimNetwork } from './network';
import { loadNetwork } from './registry';
import { ChainRpcServer, PROFILES } from './rpc-server';
import { startAdminServer } from './admin-server';

const envShape = {
  CHAIN_SIM_CHAINS: envVar.list(['cosmoshub', 'osmosis', 'neutron']),
  CHAIN_SIM_COMET_VERSIONS: envVar.list(['0.38', '0.37', '0.34']),
  CHAIN_SIM_HOST: envVar.string('127.0.0.1'),
  /** Chain i listens on base + 10·i: 26657, 26667, 26677 by default. */
  CHAIN_SIM_RPC_BASE_PORT: envVar.port(26657),
  CHAIN_SIM_ADMIN_PORT: envVar.port(26600),
  CHAIN_SIM_BLOCK_MS: envVar.int(1_000, 10, 600_000),
  CHAIN_SIM_SEED: envVar.int(42, 0, 2 ** 31),
  CHAIN_SIM_WALLETS: envVar.int(200, 1, 1_000_000),
  CHAIN_SIM_TRANSFERS_PER_BLOCK: envVar.int(2, 0, 100_000),
  CHAIN_SIM_RELAYERS_PER_PATH: envVar.int(3, 2, 4),
  CHAIN_SIM_RACE_PROBABILITY: envVar.number(0.3, 0, 1),
  CHAIN_SIM_SHARE_AWAITING_RECV: envVar.number(0.05, 0, 1),
  CHAIN_SIM_SHARE_AWAITING_ACK: envVar.number(0.04, 0, 1),
  CHAIN_SIM_SHARE_TIMEOUT_PENDING: envVar.number(0.03, 0, 1),
  CHAIN_SIM_SHARE_TIMED_OUT: envVar.number(0.03, 0, 1),
  CHAIN_SIM_RETAIN_BLOCKS: envVar.int(20_000, 10, 10_000_000),
  /**
   * 0: derived from the clock in hundredths of a second since 2024. No run can produce blocks faster than that
   * (CHAIN_SIM_BLOCK_MS ≥ 10), so a restarted run always starts above every height an earlier run reached.
   */
  CHAIN_SIM_INITIAL_HEIGHT: envVar.int(0, 0, Number.MAX_SAFE_INTEGER),
  /**
   * Chains (by chain id) served as public mainnet nodes serve them (docs/chain-sim.md): the `mainnet` profile on the
   * chain's port (CometBFT's defaults — batches of at most 10, 5 subscriptions per client — behind a 429 rate
   * limit, pruned to CHAIN_SIM_MAINNET_RETAIN_BLOCKS), an `archive` endpoint with the whole history on port + 1,
   * and CHAIN_SIM_MAINNET_BLOCK_LEVEL_SHARE of their transfers sent at the block level.
   */
  CHAIN_SIM_MAINNET_CHAINS: envVar.list([]),
  /**
   * Blocks of history made before any RPC answers, dated back from now at CHAIN_SIM_BLOCK_MS each, with the same
   * traffic (and stuck packets): what a node has when Unstuck first starts on it. Ingest started at the head never
   * reads them; the reconciler finds the pending ones.
   */
  CHAIN_SIM_HISTORY_BLOCKS: envVar.int(0, 0, 100_000),
  CHAIN_SIM_MAINNET_RETAIN_BLOCKS: envVar.int(1_000, 0, 10_000_000),
  CHAIN_SIM_MAINNET_RPS: envVar.int(20, 0, 100_000),
  CHAIN_SIM_MAINNET_LATENCY_MS: envVar.int(0, 0, 60_000),
  CHAIN_SIM_MAINNET_BLOCK_LEVEL_SHARE: envVar.number(0.05, 0, 1),
  /** Of the packets a mainnet chain receives, the share it acknowledges asynchronously (a later transaction). */
  CHAIN_SIM_MAINNET_ASYNC_ACK_SHARE: envVar.number(0.05, 0, 1),
};

/** Hundredths of a second since 2024-01-01. */
const clockTicks = () => Math.floor((Date.now() - Date.UTC(2024, 0, 1)) / 10);

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: 'chain-sim', msg, ...extra })}\n`);

/** Accepts signed bank sends from outside (payments, refunds) into the chain's next block. */
function broadcast(network: SimNetwork, chain: SimChain, txBase64: string) {
  let decoded;
  try {
    decoded = decodeTx(txBase64);
  } catch (e) {
    return { hash: '', code: 2, log: `tx parse error: ${(e as Error).message}` };
  }
  const send = decoded.bankSends[0];
  if (!send || decoded.messageCount !== 1) return { hash: decoded.hash, code: 4, log: 'chain-sim accepts transactions with exactly one MsgSend' };
  if (chain.knows(decoded.hash)) return { hash: decoded.hash, code: -1, log: 'tx already exists in cache' };
  const refused = chain.accounts.accept(Buffer.from(txBase64, 'base64'));
  if (refused) return { hash: decoded.hash, code: 32, log: refused };
  const coins = send.amount.map((c) => `${c.amount}${c.denom}`).join(',');
  const tx = chain.submitRaw(Buffer.from(txBase64, 'base64'), network.bankSendEvents(chain, send.from, send.to, coins));
  return { hash: tx.hash, code: 0, log: '' };
}

runMain(async () => {
  const env = loadEnv(envShape);
  const shares = {
    awaiting_recv: env.CHAIN_SIM_SHARE_AWAITING_RECV,
    awaiting_ack: env.CHAIN_SIM_SHARE_AWAITING_ACK,
    timeout_pending: env.CHAIN_SIM_SHARE_TIMEOUT_PENDING,
    timed_out: env.CHAIN_SIM_SHARE_TIMED_OUT,
  };
  if (Object.values(shares).reduce((a, b) => a + b, 0) > 1) throw new Error('the CHAIN_SIM_SHARE_* values add up to more than 1');
  const versions = z.array(z.enum(['0.34', '0.37', '0.38'])).parse(env.CHAIN_SIM_COMET_VERSIONS) as CometVersion[];
  const { chains, paths } = loadNetwork(env.CHAIN_SIM_CHAINS);
  const network = new SimNetwork(chains, paths, versions, {
    seed: env.CHAIN_SIM_SEED,
    wallets: env.CHAIN_SIM_WALLETS,
    transfersPerBlock: env.CHAIN_SIM_TRANSFERS_PER_BLOCK,
    shares,
    relayersPerPath: env.CHAIN_SIM_RELAYERS_PER_PATH,
    raceProbability: env.CHAIN_SIM_RACE_PROBABILITY,
    retainBlocks: env.CHAIN_SIM_RETAIN_BLOCKS,
    blockTimeMs: env.CHAIN_SIM_BLOCK_MS,
    initialHeight: env.CHAIN_SIM_INITIAL_HEIGHT || clockTicks(),
    // Sequences likewise, a million per clock tick (10^8 per second, beyond any run's rate; ~9·10^15 today, far
    // below int64), so a restart never reuses a packet identity an earlier run left in the database.
    initialSequence: BigInt(clockTicks()) * 1_000_000n,
    blockLevelShare: Object.fromEntries(env.CHAIN_SIM_MAINNET_CHAINS.map((id) => [id, env.CHAIN_SIM_MAINNET_BLOCK_LEVEL_SHARE])),
    asyncAckShare: Object.fromEntries(env.CHAIN_SIM_MAINNET_CHAINS.map((id) => [id, env.CHAIN_SIM_MAINNET_ASYNC_ACK_SHARE])),
  });
  const unknown = env.CHAIN_SIM_MAINNET_CHAINS.filter((id) => !network.chains.has(id));
  if (unknown.length) throw new Error(`CHAIN_SIM_MAINNET_CHAINS names chains chain-sim does not run: ${unknown.join(', ')}`);
  const endpoints = new Map<string, ChainRpcServer[]>();
  [...network.chains.values()].forEach((chain, i) => {
    const port = env.CHAIN_SIM_RPC_BASE_PORT + 10 * i;
    const send = (c: SimChain, tx: string) => broadcast(network, c, tx);
    if (!env.CHAIN_SIM_MAINNET_CHAINS.includes(chain.chainId)) {
      endpoints.set(chain.chainId, [new ChainRpcServer(chain, port, env.CHAIN_SIM_HOST, send)]);
      return;
    }
    const mainnet = { ...PROFILES.mainnet, requestsPerSecond: env.CHAIN_SIM_MAINNET_RPS, latencyMs: env.CHAIN_SIM_MAINNET_LATENCY_MS };
    endpoints.set(chain.chainId, [
      new ChainRpcServer(chain, port, env.CHAIN_SIM_HOST, send, { ...mainnet, retainBlocks: env.CHAIN_SIM_MAINNET_RETAIN_BLOCKS }, 'main'),
      new ChainRpcServer(chain, port + 1, env.CHAIN_SIM_HOST, send, mainnet, 'archive'),
    ]);
  });
  const rpc = [...endpoints.values()].flat();
  network.onBlock.push((chain, block) => endpoints.get(chain.chainId)!.forEach((e) => e.publish(block)));
  // History (if asked for), then genesis of the live chain: every chain has blocks before any RPC answers.
  const historyStart = Date.now() - env.CHAIN_SIM_HISTORY_BLOCKS * env.CHAIN_SIM_BLOCK_MS;
  for (let i = 0; i < env.CHAIN_SIM_HISTORY_BLOCKS; i++) network.tick(new Date(historyStart + i * env.CHAIN_SIM_BLOCK_MS));
  network.tick();
  for (const server of rpc) await server.start();
  const admin = await startAdminServer(network, endpoints, env.CHAIN_SIM_ADMIN_PORT, env.CHAIN_SIM_HOST);
  for (const [id, list] of endpoints) {
    log('chain up', {
      chain_id: id,
      rpc: list.map((s) => `http://${env.CHAIN_SIM_HOST}:${s.port}`),
      comet_version: list[0]!.chain.cometVersion,
      profile: env.CHAIN_SIM_MAINNET_CHAINS.includes(id) ? 'mainnet' : 'default',
    });
  }
  log('admin API up', { url: `http://${env.CHAIN_SIM_HOST}:${env.CHAIN_SIM_ADMIN_PORT}`, paths: paths.length });

  const timer = setInterval(() => network.tick(), env.CHAIN_SIM_BLOCK_MS);
  const stop = async () => {
    clearInterval(timer);
    admin.close();
    await Promise.all(rpc.map((s) => s.stop()));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
});
