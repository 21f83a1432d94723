import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { z } from 'zod';

const RpcUrl = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// CometBFT RPC URL');

const ChainConfigSchema = z
  .object({
    chain_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a chain id such as cosmoshub-4'),
    /** One CometBFT RPC URL or several (tried by health and latency; a pruned height goes to one that has it). */
    rpc: z
      .union([RpcUrl, z.array(RpcUrl).min(1, 'lists no RPC endpoint')])
      .transform((v) => (typeof v === 'string' ? [v] : v))
      .refine((list) => new Set(list).size === list.length, 'lists an endpoint twice'),
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

export type ChainConfig = z.infer<typeof ChainConfigSchema>;

export class ChainsConfigError extends Error {
  constructor(file: string, problems: string[]) {
    super(`${file} is not a valid chains file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ChainsConfigError';
  }
}

/** Reads CHAINS_FILE: a YAML list of {chain_id, rpc (one URL or a list), ws?, start_height?, …}; every problem is listed. */
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
