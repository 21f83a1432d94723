import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'smol-toml';
import { hermesConfig, type HermesChainInput } from '@unstuck/clearing';
import { repoRoot } from '@unstuck/config';
import { CounterpartyDirectory, feeToken, loadChainsConfig, registryChains } from '@unstuck/packets';

/**
 * npm run hermes:config -- [--chains FILE] [--out FILE] [--key NAME]: writes the Hermes config.toml the clearing
 * service's Hermes runs read (HERMES_CONFIG), from the chains file and chain-registry: every followed chain with its
 * RPC, gRPC, websocket, address prefix, gas price and signing key, and a packet filter allowing the transfer channels
 * between followed chains. Prints what Hermes would still miss. docs/clearing.md says how to add the keys.
 */
export function buildHermesConfig(chainsFile: string, keyName: string): { toml: string; problems: string[]; chains: number } {
  const chains = loadChainsConfig(chainsFile);
  const followed = new Set(chains.map((c) => c.chain_id));
  const directory = new CounterpartyDirectory(chains);
  const inputs: HermesChainInput[] = chains.map((c) => {
    const registry = registryChains().get(c.chain_id);
    const fee = feeToken(c.chain_id);
    const channels = directory
      .entries()
      .filter(([key, other]) => key.startsWith(`${c.chain_id}/transfer/`) && followed.has(other))
      .map(([key]) => ['transfer', key.slice(`${c.chain_id}/transfer/`.length)] as [string, string])
      .sort((a, b) => a[1].localeCompare(b[1], 'en', { numeric: true }));
    return {
      chainId: c.chain_id,
      rpc: c.rpc[0]!,
      // chain-registry's gRPC only for a chain whose RPC is chain-registry's too: not for chain-sim or a node of your own.
      grpc: c.grpc ?? (c.rpc_from_registry ? registry?.grpc[0] : undefined),
      bech32Prefix: registry?.bech32Prefix,
      gasPrice: fee ? { price: Number(fee.gasPrice), denom: fee.denom } : undefined,
      channels,
    };
  });
  const { config, problems } = hermesConfig(inputs, { keyName });
  const header = `# Written by npm run hermes:config from ${chainsFile} and chain-registry (${new Date().toISOString().slice(0, 10)}).\n# Keys: hermes --config <this file> keys add --chain <chain id> --key-name ${keyName} --mnemonic-file <file>\n\n`;
  return { toml: header + stringify(config), problems, chains: inputs.length };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      chains: { type: 'string', default: process.env.CHAINS_FILE ?? join(repoRoot(), 'config', 'chains.yaml') },
      out: { type: 'string', default: join(repoRoot(), '.data', 'hermes', 'config.toml') },
      key: { type: 'string', default: (process.env.HERMES_KEYS ?? '').split(',').filter(Boolean)[0] ?? 'unstuck' },
    },
  });
  const { toml, problems, chains } = buildHermesConfig(resolve(values.chains!), values.key!);
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, toml);
  process.stdout.write(`wrote ${values.out} (${chains} chains)\n`);
  for (const p of problems) process.stdout.write(`  to do: ${p}\n`);
}

if (require.main === module) main();
