import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { untilUp, waitFor } from './infra';
import { startBuiltApp, type ServiceProcess } from './processes';

/** What the waits need of a database (libs/db's Database; not imported, since libs/db's tests use this lib). */
interface Queryable {
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A packet as chain-sim's ground truth (`GET /packets`) reports it; tests read more fields as they need. */
export interface SimPacket {
  src_chain_id: string;
  src_channel: string;
  sequence: string;
  state: string;
}

/** One RPC endpoint of a chain-sim chain as `GET /chains` reports it (docs/chain-sim.md). */
export interface SimEndpoint {
  name: string;
  rpc: string;
  running: boolean;
  earliest_height: number;
  http_requests: number;
  batches_refused: number;
  largest_batch: number;
  largest_batch_after_refusal: number;
  refused_for_rate: number;
}

/** chain-sim's admin API and the waits the end-to-end tests share. */
export class ChainSimAdmin {
  constructor(readonly url: string) {}

  /** A chain's height and RPC endpoints, with their profiles' counters. */
  async chain(chainId: string): Promise<{ chain_id: string; height: number; endpoints: SimEndpoint[] }> {
    const { chains } = await this.call<{ chains: Array<{ chain_id: string; height: number; endpoints: SimEndpoint[] }> }>('/chains');
    const chain = chains.find((c) => c.chain_id === chainId);
    if (!chain) throw new Error(`chain-sim runs no chain ${chainId}`);
    return chain;
  }

  async call<T>(path: string, body?: unknown): Promise<T> {
    const res = await fetch(
      `${this.url}${path}`,
      body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    );
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async packets<T extends SimPacket = SimPacket>(): Promise<T[]> {
    return (await this.call<{ packets: T[] }>('/packets')).packets;
  }

  waitUntilUp(timeoutMs = 20_000): Promise<void> {
    return untilUp(`${this.url}/chains`, timeoutMs, 100);
  }

  /** The first height each chain's RPC serves (ingest starts there so every packet of the run is expected). */
  static async earliestHeights(rpcPorts: readonly number[]): Promise<string[]> {
    return Promise.all(
      rpcPorts.map(async (port) => {
        const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { result: { sync_info: { earliest_block_height: string } } };
        return status.result.sync_info.earliest_block_height;
      }),
    );
  }

  /**
   * Stops new traffic, lets scheduled relays and timeouts land (packet states stable), then waits until ingest has
   * committed every height the chains reached; returns the ground truth.
   */
  async quiesce<T extends SimPacket = SimPacket>(db: Queryable, chainIds: readonly string[], ingestTimeoutMs = 30_000): Promise<T[]> {
    await this.call('/rate', { transfers_per_block: 0 });
    let previous = '';
    await waitFor(async () => {
      const snapshot = JSON.stringify((await this.packets()).map((p) => p.state));
      const stable = snapshot === previous;
      previous = snapshot;
      return stable;
    }, 30_000, 1_500);
    const { chains } = await this.call<{ chains: Array<{ chain_id: string; height: number }> }>('/chains');
    await waitFor(async () => {
      const rows = await db.query<{ chain_id: string; height: string }>(`SELECT chain_id, height FROM ingest_cursors WHERE chain_id = ANY($1)`, [chainIds]);
      return chains.every((c) => rows.some((r) => r.chain_id === c.chain_id && Number(r.height) >= c.height));
    }, ingestTimeoutMs, 200);
    return this.packets<T>();
  }
}

/** chain-sim's default chains (cosmoshub, osmosis, neutron) with the RPC port each listens on: base + 10·i. */
export function simChains(rpcBasePort: number): Array<{ chain_id: string; port: number }> {
  return ['cosmoshub-4', 'osmosis-1', 'neutron-1'].map((chain_id, i) => ({ chain_id, port: rpcBasePort + 10 * i }));
}

/** One chain-sim chain as packet-ingest's chains file lists it. */
export interface SimChainEntry {
  chain_id: string;
  /** chain-sim's RPC port for the chain (on 127.0.0.1). */
  port: number;
  start_height: string | number;
  comet_version?: string;
}

/** Writes a CHAINS_FILE for chain-sim's chains (to `file`, else to a new temporary folder) and returns its path. */
export function writeChainsFile(chains: readonly SimChainEntry[], file = join(mkdtempSync(join(tmpdir(), 'unstuck-chains-')), 'chains.yaml')): string {
  const entry = (c: SimChainEntry) =>
    `- chain_id: ${c.chain_id}\n  rpc: http://127.0.0.1:${c.port}\n${c.comet_version ? `  comet_version: "${c.comet_version}"\n` : ''}  start_height: ${c.start_height}\n`;
  writeFileSync(file, chains.map(entry).join(''));
  return file;
}

/**
 * Writes a CHAINS_FILE for chain-sim's chains starting at the first height each one serves, so that every packet of
 * the run is expected in the database (ingest starts at the head when nothing is committed yet); returns its path.
 */
export async function writeChainsFileFromStart(chains: ReadonlyArray<Omit<SimChainEntry, 'start_height'>>, file?: string): Promise<string> {
  const earliest = await ChainSimAdmin.earliestHeights(chains.map((c) => c.port));
  return writeChainsFile(chains.map((c, i) => ({ ...c, start_height: earliest[i]! })), file);
}

/**
 * Starts chain-sim (built JS) with the end-to-end tests' traffic — 100 ms blocks, 3 transfers per block, relayers
 * racing for 40 % of packets — on ports of the test's own, and writes a chains file for ingest that starts at the
 * first heights; returns the process and the chains file's path.
 */
export async function startChainSimRun(options: {
  rpcBasePort: number;
  adminPort: number;
  seed: number;
  chainsFile: string;
}): Promise<{ process: ServiceProcess; chainsFile: string }> {
  const process = startBuiltApp('chain-sim', {
    CHAIN_SIM_RPC_BASE_PORT: String(options.rpcBasePort),
    CHAIN_SIM_ADMIN_PORT: String(options.adminPort),
    CHAIN_SIM_BLOCK_MS: '100',
    CHAIN_SIM_SEED: String(options.seed),
    CHAIN_SIM_TRANSFERS_PER_BLOCK: '3',
    CHAIN_SIM_RACE_PROBABILITY: '0.4',
  });
  try {
    await new ChainSimAdmin(`http://127.0.0.1:${options.adminPort}`).waitUntilUp();
    return { process, chainsFile: await writeChainsFileFromStart(simChains(options.rpcBasePort), options.chainsFile) };
  } catch (e) {
    process.kill('SIGKILL');
    throw new Error(`chain-sim did not start: ${(e as Error).message}\n${process.output().slice(-2000)}`);
  }
}
