import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { z } from 'zod';
import { registryChainByName } from '../wallets';

/** RPC endpoints taken from chain-registry for a chain named by its registry name: archive nodes first, then in the registry's order. */
export const REGISTRY_RPC_ENDPOINTS = 6;

const RpcUrl = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// CometBFT RPC URL');

const ChainEntrySchema = z
  .object({
    /** A chain-registry name (cosmoshub, osmosis…): fills chain_id and rpc (the registry's apis.rpc); explicit fields override. */
    chain: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be a chain-registry name such as cosmoshub')
      .optional(),
    chain_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a chain id such as cosmoshub-4').optional(),
    /** One CometBFT RPC URL or several (tried by health and latency; a pruned height goes to one that has it). */
    rpc: z
      .union([RpcUrl, z.array(RpcUrl).min(1, 'lists no RPC endpoint')])
      .transform((v) => (typeof v === 'string' ? [v] : v))
      .refine((list) => new Set(list).size === list.length, 'lists an endpoint twice')
      .optional(),
    /** The chain's gRPC endpoint, for the Hermes config (npm run hermes:config); default: chain-registry's when rpc comes from it. */
    grpc: z.string().url().optional(),
    /** Budget per endpoint in HTTP requests per second (public nodes limit each client); overrides INGEST_RPC_REQUESTS_PER_SECOND. */
    requests_per_second: z.number().int().min(0).max(100_000).optional(),
    ws: z
      .string()
      .url()
      .refine((u) => /^wss?:$/.test(new URL(u).protocol), 'must be a ws:// or wss:// URL')
      .optional(),
    start_height: z.coerce.number().int().min(1).optional(),
    comet_version: z.enum(['0.34', '0.37', '0.38']).optional(),
    /** Counterparty chain of each of this chain's channels, where chain-registry does not know it: { "transfer/channel-0": "osmosis-1" }. */
    counterparties: z.record(z.string().regex(/^[^/]+\/channel-\d+$/), z.string()).optional(),
  })
  .strict();

/** A chains-file entry with its chain-registry name resolved: chain_id and rpc are always known. */
const ChainConfigSchema = ChainEntrySchema.transform((entry, ctx) => {
  let chainId = entry.chain_id;
  let rpc = entry.rpc;
  let rpcFromRegistry = false;
  if (entry.chain) {
    const registry = registryChainByName(entry.chain);
    if (!registry) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['chain'], message: `${entry.chain} is not a mainnet chain in the chain-registry package` });
      return z.NEVER;
    }
    chainId ??= registry.chainId;
    rpcFromRegistry = rpc === undefined;
    rpc ??= registry.rpc.slice(0, REGISTRY_RPC_ENDPOINTS);
    if (rpc.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['rpc'], message: `chain-registry lists no https RPC endpoint for ${entry.chain}: give rpc` });
      return z.NEVER;
    }
  }
  if (!chainId) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['chain_id'], message: 'is required (or name the chain with chain: <chain-registry name>)' });
  if (!rpc) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['rpc'], message: 'is required (or name the chain with chain: <chain-registry name>)' });
  if (!chainId || !rpc) return z.NEVER;
  /** Whether the endpoints are chain-registry's (then so may be the gRPC endpoint Hermes needs). */
  return { ...entry, chain_id: chainId, rpc, ...(rpcFromRegistry ? { rpc_from_registry: true as const } : {}) };
});

export type ChainConfig = z.output<typeof ChainConfigSchema>;

export class ChainsConfigError extends Error {
  constructor(file: string, problems: string[]) {
    super(`${file} is not a valid chains file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ChainsConfigError';
  }
}

/**
 * Reads CHAINS_FILE: a YAML list of {chain (a chain-registry name) and/or chain_id and rpc (one URL or a list), ws?,
 * start_height?, …}; every problem is listed.
 */
export function loadChainsConfig(file: string): ChainConfig[] {
  let doc: unknown;
  try {
    doc = load(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ChainsConfigError(file, [(e as Error).message.split('\n')[0]!]);
  }
  const parsed = z.array(ChainConfigSchema).min(1, 'lists no chains').safeParse(doc);
  if (!parsed.success) {
    throw new ChainsConfigError(
      file,
      parsed.error.issues.map((i) => `${i.path.length ? `[${i.path.join('].[')}]` : 'file'}: ${i.message}`),
    );
  }
  const seen = new Set<string>();
  const duplicates = parsed.data.filter((c) => (seen.has(c.chain_id) ? true : (seen.add(c.chain_id), false)));
  if (duplicates.length) throw new ChainsConfigError(file, duplicates.map((c) => `${c.chain_id} is listed twice`));
  return parsed.data;
}
