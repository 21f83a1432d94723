import { createHash } from 'node:crypto';
import { AuthInfo, TxBody, TxRaw } from 'cosmjs-types/cosmos/tx/v1beta1/tx';
import { SignMode } from 'cosmjs-types/cosmos/tx/signing/v1beta1/signing';
import { LRUCache } from 'lru-cache';
import type { Any } from 'cosmjs-types/google/protobuf/any';
import { SimAccounts } from './accounts';
import type { ChannelState } from './ibc-queries';
import type { ChainInfo } from './registry';

export type CometVersion = '0.34' | '0.37' | '0.38';

export interface SimEvent {
  type: string;
  attributes: Array<[string, string]>;
}

export interface SimTx {
  bytes: Uint8Array;
  hash: string;
  code: number;
  log: string;
  events: SimEvent[];
  gasWanted: number;
  gasUsed: number;
}

export interface SimBlock {
  height: number;
  time: Date;
  hash: string;
  txs: SimTx[];
  /**
   * Events the block emitted outside any transaction (BeginBlock / EndBlock: interchain-security VSC packets,
   * ICA or cron-driven sends). 0.38 lists them in finalize_block_events with a `mode` attribute; 0.34 and 0.37 in
   * end_block_events.
   */
  blockEvents: SimEvent[];
}

/** Rendered answers kept per chain, in characters of JSON (ASCII: bytes). A full block (250 transfers) renders to ~1 MB. */
const RENDERED_BYTES = 128 * 1024 * 1024;

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

/**
 * One simulated chain: its blocks (real protobuf transactions and ABCI events) and what a CometBFT RPC node
 * answers about them, in the event encoding of the chosen CometBFT version.
 */
export class SimChain {
  height: number;
  earliest: number;
  private readonly blocks = new Map<number, SimBlock>();
  private readonly txIndex = new Map<string, { height: number; index: number }>();
  /** `block` and `block_results` answers as JSON text, rendered once per height (see renderedJson). */
  private readonly rendered = new LRUCache<string, string>({ maxSize: RENDERED_BYTES, sizeCalculation: (text) => text.length });
  private pending: SimTx[] = [];
  private pendingBlockEvents: SimEvent[] = [];
  private nonce = 0;
  readonly accounts: SimAccounts;
  /** This chain's channel ends (`port/channel`), as ibc-go's channel and client queries answer about them. */
  readonly channels = new Map<string, ChannelState>();
  /** An ORDERED channel end's next sequence to receive (the network, which knows the packets, sets it). */
  nextSequenceRecv: (port: string, channel: string) => bigint = () => 1n;
  /** Packet state ibc-go keeps on this chain (commitments of packets it sent, receipts of packets it received). */
  packetCommitments: (port: string, channel: string) => Array<{ sequence: bigint; commitment: Uint8Array }> = () => [];
  hasReceipt: (port: string, channel: string, sequence: bigint) => boolean = () => false;
  hasCommitment: (port: string, channel: string, sequence: bigint) => boolean = () => false;

  constructor(
    readonly info: ChainInfo,
    readonly cometVersion: CometVersion,
    private readonly retainBlocks: number,
    initialHeight = 1,
  ) {
    this.height = initialHeight - 1;
    this.earliest = initialHeight;
    this.accounts = new SimAccounts(info.bech32Prefix);
  }

  /** Whether a transaction with this hash is already in a block or waiting for one (a node's mempool cache). */
  knows(hash: string): boolean {
    return this.txIndex.has(hash.toUpperCase()) || this.pending.some((t) => t.hash === hash.toUpperCase());
  }

  get chainId(): string {
    return this.info.chainId;
  }

  latest(): SimBlock | undefined {
    return this.blocks.get(this.height);
  }

  block(height: number): SimBlock | undefined {
    return this.blocks.get(height);
  }

  /** A transaction (signed-looking TxRaw) with these messages, queued for the next block; returns its hash. */
  submit(messages: Any[], events: SimEvent[], options: { memo?: string; code?: number; log?: string } = {}): SimTx {
    this.nonce += 1;
    const bodyBytes = TxBody.encode(TxBody.fromPartial({ messages, memo: options.memo ?? '' })).finish();
    const authInfoBytes = AuthInfo.encode(
      AuthInfo.fromPartial({
        signerInfos: [{ sequence: BigInt(this.nonce), modeInfo: { single: { mode: SignMode.SIGN_MODE_DIRECT } } }],
        fee: { amount: [{ denom: this.info.denom, amount: '5000' }], gasLimit: 250_000n },
      }),
    ).finish();
    const signature = Buffer.concat([sha256(bodyBytes), sha256(authInfoBytes)]);
    const bytes = TxRaw.encode(TxRaw.fromPartial({ bodyBytes, authInfoBytes, signatures: [signature] })).finish();
    const tx: SimTx = {
      bytes,
      hash: hex(sha256(bytes)),
      code: options.code ?? 0,
      log: options.log ?? '',
      events,
      gasWanted: 250_000,
      gasUsed: 120_000 + events.length * 2_000,
    };
    this.pending.push(tx);
    return tx;
  }

  /** A transaction broadcast from outside (already signed bytes), queued for the next block. */
  submitRaw(bytes: Uint8Array, events: SimEvent[], code = 0, log = ''): SimTx {
    const tx: SimTx = { bytes, hash: hex(sha256(bytes)), code, log, events, gasWanted: 250_000, gasUsed: 90_000 };
    this.pending.push(tx);
    return tx;
  }

  /** Events the next block emits at its end, outside any transaction (EndBlock). */
  emitAtEndBlock(events: SimEvent[]): void {
    this.pendingBlockEvents.push(...events);
  }

  /** Seals the pending transactions into the next block. */
  produceBlock(time: Date): SimBlock {
    this.height += 1;
    const block: SimBlock = {
      height: this.height,
      time,
      hash: hex(sha256(`${this.chainId}/${this.height}`)),
      txs: this.pending,
      blockEvents: this.pendingBlockEvents,
    };
    this.pending = [];
    this.pendingBlockEvents = [];
    this.accounts.commit();
    this.blocks.set(block.height, block);
    block.txs.forEach((tx, index) => this.txIndex.set(tx.hash, { height: block.height, index }));
    this.renderedJson('block', block);
    this.renderedJson('block_results', block);
    // Pruned like a node with a retention setting: old heights are gone and status says so.
    while (this.height - this.earliest >= this.retainBlocks) {
      for (const tx of this.blocks.get(this.earliest)?.txs ?? []) this.txIndex.delete(tx.hash);
      this.blocks.delete(this.earliest);
      this.rendered.delete(`block/${this.earliest}`);
      this.rendered.delete(`block_results/${this.earliest}`);
      this.earliest += 1;
    }
    return block;
  }

  findTx(hash: string): { block: SimBlock; index: number } | undefined {
    const at = this.txIndex.get(hash.toUpperCase());
    const block = at && this.blocks.get(at.height);
    return block && at ? { block, index: at.index } : undefined;
  }

  // ---- what a CometBFT RPC answers -------------------------------------------------------------------------

  /**
   * The `block` or `block_results` answer for a height as JSON text. A sealed block never changes, so its answers
   * are rendered once, when it is sealed (a node writes them to its store then, and serves them from there), and kept
   * while they fit in RENDERED_BYTES (least recently used first out); an older height is rendered again on demand.
   */
  renderedJson(kind: 'block' | 'block_results', block: SimBlock): string {
    const key = `${kind}/${block.height}`;
    let text = this.rendered.get(key);
    if (text === undefined) {
      text = JSON.stringify(kind === 'block' ? this.renderBlock(block) : this.renderBlockResults(block));
      this.rendered.set(key, text);
    }
    return text;
  }

  renderEvents(events: SimEvent[]): Array<{ type: string; attributes: Array<{ key: string; value: string; index: boolean }> }> {
    const base64 = this.cometVersion === '0.34';
    return events.map((e) => ({
      type: e.type,
      attributes: e.attributes.map(([key, value]) => ({ key: base64 ? b64(key) : key, value: base64 ? b64(value) : value, index: true })),
    }));
  }

  renderTxResult(tx: SimTx) {
    return {
      code: tx.code,
      data: tx.code === 0 ? b64('\u0012\u0000') : null,
      log: tx.log,
      info: '',
      gas_wanted: String(tx.gasWanted),
      gas_used: String(tx.gasUsed),
      events: this.renderEvents(tx.events),
      codespace: tx.code === 0 ? '' : 'sdk',
    };
  }

  private blockId(block: SimBlock) {
    return { hash: block.hash, parts: { total: 1, hash: hex(sha256(`parts/${block.hash}`)) } };
  }

  renderBlock(block: SimBlock) {
    const prev = this.blocks.get(block.height - 1);
    const h = (label: string) => hex(sha256(`${label}/${this.chainId}/${block.height}`));
    return {
      block_id: this.blockId(block),
      block: {
        header: {
          version: { block: '11', app: '0' },
          chain_id: this.chainId,
          height: String(block.height),
          time: block.time.toISOString(),
          last_block_id: prev ? this.blockId(prev) : { hash: '', parts: { total: 0, hash: '' } },
          last_commit_hash: h('last_commit'),
          data_hash: h('data'),
          validators_hash: h('validators'),
          next_validators_hash: h('validators'),
          consensus_hash: h('consensus'),
          app_hash: h('app'),
          last_results_hash: h('results'),
          evidence_hash: hex(sha256('')),
          proposer_address: h('proposer').slice(0, 40),
        },
        data: { txs: block.txs.map((tx) => b64(tx.bytes)) },
        evidence: { evidence: [] },
        last_commit: {
          height: String(Math.max(0, block.height - 1)),
          round: 0,
          block_id: prev ? this.blockId(prev) : { hash: '', parts: { total: 0, hash: '' } },
          signatures: [],
        },
      },
    };
  }

  renderBlockResults(block: SimBlock) {
    const txs_results = block.txs.map((tx) => this.renderTxResult(tx));
    const coinbase: SimEvent = { type: 'coinbase', attributes: [['minter', 'module'], ['amount', `1000${this.info.denom}`]] };
    if (this.cometVersion === '0.38') {
      // SDK 0.50 tags each finalize_block event with the ABCI phase it came from (x/auth's mode attribute).
      const withMode = (e: SimEvent, mode: string): SimEvent => ({ type: e.type, attributes: [...e.attributes, ['mode', mode]] });
      return {
        height: String(block.height),
        txs_results,
        finalize_block_events: this.renderEvents([withMode(coinbase, 'BeginBlock'), ...block.blockEvents.map((e) => withMode(e, 'EndBlock'))]),
        validator_updates: [],
        consensus_param_updates: null,
        app_hash: b64(sha256(`app/${this.chainId}/${block.height}`)),
      };
    }
    return {
      height: String(block.height),
      txs_results,
      begin_block_events: this.renderEvents([coinbase]),
      end_block_events: this.renderEvents(block.blockEvents),
      validator_updates: [],
      consensus_param_updates: null,
    };
  }

  /** `/status` as a node that keeps blocks from `earliestHeight` on (a pruned node's is above the chain's) answers it. */
  renderStatus(view: { earliestHeight: number; txIndex: boolean; moniker?: string } = { earliestHeight: this.earliest, txIndex: true }) {
    const latest = this.latest();
    const earliest = this.blocks.get(view.earliestHeight);
    return {
      node_info: {
        protocol_version: { p2p: '8', block: '11', app: '0' },
        id: hex(sha256(`node/${this.chainId}`)).slice(0, 40).toLowerCase(),
        listen_addr: 'tcp://0.0.0.0:26656',
        network: this.chainId,
        version: { '0.34': '0.34.29', '0.37': '0.37.4', '0.38': '0.38.12' }[this.cometVersion],
        channels: '40202122233038606100',
        moniker: view.moniker ?? `chain-sim-${this.chainId}`,
        other: { tx_index: view.txIndex ? 'on' : 'off', rpc_address: 'tcp://0.0.0.0:26657' },
      },
      sync_info: {
        latest_block_hash: latest?.hash ?? '',
        latest_app_hash: latest ? hex(sha256(`app/${this.chainId}/${latest.height}`)) : '',
        latest_block_height: String(this.height),
        latest_block_time: (latest?.time ?? new Date(0)).toISOString(),
        earliest_block_hash: earliest?.hash ?? '',
        earliest_app_hash: '',
        earliest_block_height: String(earliest ? view.earliestHeight : this.earliest),
        earliest_block_time: (earliest?.time ?? new Date(0)).toISOString(),
        catching_up: false,
      },
      validator_info: {
        address: hex(sha256(`validator/${this.chainId}`)).slice(0, 40),
        pub_key: { type: 'tendermint/PubKeyEd25519', value: b64(sha256(`validator/${this.chainId}`)) },
        voting_power: '1000',
      },
    };
  }

  renderTx(found: { block: SimBlock; index: number }) {
    const tx = found.block.txs[found.index]!;
    return { hash: tx.hash, height: String(found.block.height), index: found.index, tx_result: this.renderTxResult(tx), tx: b64(tx.bytes) };
  }

  /**
   * tx_search over the retained blocks: a conjunction of `tx.height=N`, `tx.hash='H'` and
   * `<event>.<attribute>='value'` conditions, as CometBFT's kv indexer answers them.
   */
  txSearch(query: string, page: number, perPage: number, orderDesc: boolean) {
    const conditions = query.split(/\s+AND\s+/i).map((c) => {
      const m = /^\s*([\w.]+)\s*=\s*'?([^']*)'?\s*$/.exec(c);
      if (!m) throw new Error(`unsupported query condition: ${c}`);
      return { key: m[1]!, value: m[2]! };
    });
    const matches: Array<{ block: SimBlock; index: number }> = [];
    for (let h = this.earliest; h <= this.height; h++) {
      const block = this.blocks.get(h);
      if (!block) continue;
      block.txs.forEach((tx, index) => {
        const ok = conditions.every(({ key, value }) => {
          if (key === 'tx.height') return String(h) === value;
          if (key === 'tx.hash') return tx.hash === value.toUpperCase();
          const dot = key.indexOf('.');
          const type = key.slice(0, dot);
          const attr = key.slice(dot + 1);
          return tx.events.some((e) => e.type === type && e.attributes.some(([k, v]) => k === attr && v === value));
        });
        if (ok) matches.push({ block, index });
      });
    }
    if (orderDesc) matches.reverse();
    const start = (page - 1) * perPage;
    return { txs: matches.slice(start, start + perPage).map((m) => this.renderTx(m)), total_count: String(matches.length) };
  }
}
