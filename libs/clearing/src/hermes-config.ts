/** What the Hermes config needs of one followed chain. */
export interface HermesChainInput {
  chainId: string;
  rpc: string;
  /** The gRPC endpoint Hermes queries (it requires one); undefined when neither the chains file nor chain-registry names one. */
  grpc: string | undefined;
  bech32Prefix: string | undefined;
  gasPrice: { price: number; denom: string } | undefined;
  /** The followed transfer channels of this chain: [port, channel]. */
  channels: Array<[string, string]>;
}

/** A Hermes config as data (TOML tables), and what is missing for Hermes to use it. */
export interface HermesConfig {
  config: Record<string, unknown>;
  problems: string[];
}

/**
 * The Hermes `config.toml` for clearing on the followed chains: one `[[chains]]` table per chain (RPC, gRPC, its
 * websocket as the push event source, address prefix, gas price from chain-registry's fee token, the signing key)
 * and a packet filter allowing exactly the followed channels. Hermes runs on demand (`clear packets`), so its own
 * packet clearing and connection/channel workers are off; client refresh stays on, as Hermes recommends for any
 * relayer. What Hermes could not run without (a gRPC address, a gas price, an address prefix) is named in `problems`.
 */
export function hermesConfig(chains: readonly HermesChainInput[], options: { keyName: string; memoPrefix?: string }): HermesConfig {
  const problems: string[] = [];
  const tables = chains.map((c) => {
    if (!c.grpc) problems.push(`${c.chainId}: no gRPC endpoint is known; add grpc to its entry in the chains file`);
    if (!c.gasPrice) problems.push(`${c.chainId}: chain-registry gives no fee token with a gas price; set gas_price in the generated file`);
    if (!c.bech32Prefix) problems.push(`${c.chainId}: chain-registry gives no address prefix; set account_prefix in the generated file`);
    const ws = `${c.rpc.replace(/^http/, 'ws').replace(/\/$/, '')}/websocket`;
    return {
      id: c.chainId,
      type: 'CosmosSdk',
      rpc_addr: c.rpc,
      grpc_addr: c.grpc ?? '',
      event_source: { mode: 'push', url: ws, batch_delay: '500ms' },
      rpc_timeout: '10s',
      trusted_node: false,
      account_prefix: c.bech32Prefix ?? '',
      key_name: options.keyName,
      store_prefix: 'ibc',
      default_gas: 100_000,
      max_gas: 4_000_000,
      gas_price: c.gasPrice ?? { price: 0, denom: '' },
      gas_multiplier: 1.3,
      max_msg_num: 30,
      max_tx_size: 180_000,
      clock_drift: '5s',
      max_block_time: '30s',
      trust_threshold: { numerator: '1', denominator: '3' },
      memo_prefix: options.memoPrefix ?? 'Unstuck',
      packet_filter: { policy: 'allow', list: c.channels },
    };
  });
  return {
    problems,
    config: {
      global: { log_level: 'info' },
      mode: {
        clients: { enabled: true, refresh: true, misbehaviour: false },
        connections: { enabled: false },
        channels: { enabled: false },
        // Unstuck asks for each clearing (`hermes clear packets`): no periodic clearing of its own.
        packets: { enabled: true, clear_interval: 0, clear_on_start: false, tx_confirmation: true },
      },
      rest: { enabled: false, host: '127.0.0.1', port: 3000 },
      telemetry: { enabled: false, host: '127.0.0.1', port: 3001 },
      chains: tables,
    },
  };
}
