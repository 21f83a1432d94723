import { createHash } from 'node:crypto';
import { MsgExec } from 'cosmjs-types/cosmos/authz/v1beta1/tx';
import { MsgMultiSend, MsgSend } from 'cosmjs-types/cosmos/bank/v1beta1/tx';
import { Any } from 'cosmjs-types/google/protobuf/any';
import { MsgTransfer } from 'cosmjs-types/ibc/applications/transfer/v1/tx';
import { MsgAcknowledgement, MsgRecvPacket, MsgTimeout } from 'cosmjs-types/ibc/core/channel/v1/tx';
import type { Packet } from 'cosmjs-types/ibc/core/channel/v1/channel';
import { encodeTransferDataV2 } from '@unstuck/packets';
import { SimChain, type CometVersion, type SimBlock, type SimEvent } from './chain';
import type { ChannelState } from './ibc-queries';
import { Prng } from './prng';
import { address, type ChainInfo, type ChannelEnd, type Path } from './registry';

/** What happens to a packet after it is sent. */
/**
 * What happens to a packet after it is sent. `ack_pending`: received, but the destination application never
 * writes its acknowledgement (an async ack still waiting, e.g. a forward through packet-forward middleware).
 */
export type Fate = 'relayed' | 'awaiting_recv' | 'awaiting_ack' | 'timeout_pending' | 'timed_out' | 'ack_pending';
export type PacketState = 'sent' | 'received' | 'acknowledged' | 'timed_out';

export interface FateShares {
  awaiting_recv: number;
  awaiting_ack: number;
  timeout_pending: number;
  timed_out: number;
}

export interface NetworkOptions {
  seed: number;
  wallets: number;
  /** Transfers started per block on each chain. */
  transfersPerBlock: number;
  shares: FateShares;
  /** Relayers per path (2–4 race for the same packets). */
  relayersPerPath: number;
  /** Chance that a relayed packet is also relayed by one or more other relayers, who are frontrun. */
  raceProbability: number;
  retainBlocks: number;
  blockTimeMs: number;
  /**
   * First height of every chain and first sequence of every channel. A chain-sim run is a new chain (like a
   * genesis with initial_height): deriving these from the clock keeps a restarted run's heights and packets apart
   * from everything an earlier run left in the database.
   */
  initialHeight: number;
  initialSequence: bigint;
  /**
   * Per chain, the share of its transfers sent at the block level (EndBlock, no transaction), as interchain
   * security's VSC packets and ICA/cron-driven sends are: only block_results' block events show them.
   */
  blockLevelShare?: Record<string, number>;
  /**
   * Per destination chain, the share of relayed packets acknowledged asynchronously: the receipt writes no
   * acknowledgement; a later transaction does (packet-forward middleware once the next hop acknowledged, a contract).
   */
  asyncAckShare?: Record<string, number>;
}

/** The ground truth chain-sim keeps about every packet, for tests to compare ingest against. */
export interface SimPacket {
  srcChainId: string;
  srcChannel: string;
  dstChainId: string;
  dstChannel: string;
  sequence: string;
  fate: Fate;
  state: PacketState;
  sender: string;
  receiver: string;
  denom: string;
  amount: string;
  timeoutHeight: { revisionNumber: bigint; revisionHeight: bigint };
  timeoutTimestampNs: bigint;
  /** The send's transaction; '' for a packet sent at the block level. */
  sendTxHash: string;
  /** Whether the destination acknowledges it asynchronously, and whether it has written the acknowledgement yet. */
  asyncAck: boolean;
  ackWritten: boolean;
  /** The packet's data as sent: ICS-20 JSON (ics20-1), or FungibleTokenPacketDataV2 protobuf on an ics20-2 channel. */
  data: Uint8Array;
  /** The acknowledgement the destination writes: the standard envelope, or wrapped by ICS-29 fee middleware. */
  ack: Uint8Array;
  /** Relayers that submitted the recv / ack / timeout, first (effected) first. */
  recvRelayers: string[];
  ackRelayers: string[];
  timeoutRelayers: string[];
}

interface Direction {
  src: ChannelEnd;
  dst: ChannelEnd;
  /** Relayer keys; each signs with its address on the chain it submits to (same key, that chain's prefix). */
  relayers: string[];
}

type Action = () => void;

const TRANSFER_PORT = 'transfer';

/** A packet's commitment stays on its source until its acknowledgement or timeout is relayed back. */
const committed = (r: SimPacket) => r.state === 'sent' || r.state === 'received';

/** ibc-go's CommitPacket: sha256(timeout timestamp ‖ revision number ‖ revision height, 8 bytes big-endian each ‖ sha256(data)). */
function commitPacket(r: SimPacket): Uint8Array {
  const buf = Buffer.alloc(24);
  buf.writeBigUInt64BE(r.timeoutTimestampNs, 0);
  buf.writeBigUInt64BE(r.timeoutHeight.revisionNumber, 8);
  buf.writeBigUInt64BE(r.timeoutHeight.revisionHeight, 16);
  return createHash('sha256').update(Buffer.concat([buf, createHash('sha256').update(r.data).digest()])).digest();
}
const ACK_SUCCESS = Buffer.from('{"result":"AQ=="}');

const any = (typeUrl: string, value: Uint8Array) => Any.fromPartial({ typeUrl, value });
const ev = (type: string, attributes: Array<[string, string]>): SimEvent => ({ type, attributes });

/**
 * Several chains and the transfer paths between them, advancing one block per tick each, with ICS-20 traffic:
 * transfers, racing relayers, and a configurable share of packets left stuck or timing out.
 */
export class SimNetwork {
  readonly chains = new Map<string, SimChain>();
  readonly packets = new Map<string, SimPacket>();
  /** Packets by their source chain and channel (`chain/channel`), in send order. */
  private readonly bySource = new Map<string, SimPacket[]>();
  private readonly directions: Direction[] = [];
  private readonly wallets = new Map<string, string[]>();
  private readonly nextSequence = new Map<string, bigint>();
  private readonly schedule = new Map<number, Action[]>();
  /** Packets whose timeout a relayer will relay once it has passed on the destination. */
  private readonly timeoutWatch = new Set<SimPacket>();
  private readonly prng: Prng;
  private tickCount = 0;
  private openedChannels = 0;
  private v2Sequence = 0n;
  /** Chains that produce no blocks for now (a halted chain, for fault tests): their transactions wait in the mempool. */
  readonly halted = new Set<string>();
  /** How long `POST /relay` waits before acting, as a relayer takes time to build proofs (fault tests kill the caller meanwhile). */
  relayLatencyMs = 0;
  /** How many of the next `POST /relay` calls answer as done and relay nothing (a relayer's false success). */
  relaysToIgnore = 0;
  readonly onBlock: Array<(chain: SimChain, block: SimBlock) => void> = [];

  constructor(
    chains: ChainInfo[],
    paths: Path[],
    versions: CometVersion[],
    readonly options: NetworkOptions,
  ) {
    this.prng = new Prng(options.seed);
    chains.forEach((info, i) => {
      this.chains.set(info.chainId, new SimChain(info, versions[i % versions.length]!, options.retainBlocks, options.initialHeight));
      this.wallets.set(
        info.chainId,
        Array.from({ length: options.wallets }, (_, w) => address(info.bech32Prefix, `${options.seed}/wallet/${w}`)),
      );
    });
    for (const path of paths) this.addPath(path);
  }

  /** Both directions of a path, their relayers, and each chain's channel end (its client tracks the other chain). */
  private addPath(path: Path): void {
    for (const [src, dst] of [
      [path.a, path.b],
      [path.b, path.a],
    ] as const) {
      const key = [src.chainId, dst.chainId].sort().join('|');
      const relayers = Array.from({ length: this.options.relayersPerPath }, (_, r) => `${this.options.seed}/relayer/${key}/${r}`);
      this.directions.push({ src, dst, relayers });
      const chain = this.chains.get(src.chainId)!;
      chain.channels.set(`${TRANSFER_PORT}/${src.channelId}`, {
        counterpartyChainId: dst.chainId,
        counterpartyRevision: this.chains.get(dst.chainId)!.info.revision,
        counterpartyPort: TRANSFER_PORT,
        counterpartyChannelId: dst.channelId,
        clientId: `07-tendermint-${chain.channels.size}`,
        connectionId: src.connectionId,
        state: 'OPEN',
        ordering: 'UNORDERED',
        version: 'ics20-1',
        clientStatus: 'Active',
      });
      chain.nextSequenceRecv = (port, channel) => this.nextSequenceRecv(chain.chainId, port, channel);
      chain.packetCommitments = (port, channel) =>
        port !== TRANSFER_PORT ? [] : (this.bySource.get(`${chain.chainId}/${channel}`) ?? []).filter(committed).map((r) => ({ sequence: BigInt(r.sequence), commitment: commitPacket(r) }));
      chain.hasCommitment = (port, channel, sequence) => {
        const r = this.packets.get(SimNetwork.packetKey(chain.chainId, channel, String(sequence)));
        return port === TRANSFER_PORT && r !== undefined && committed(r);
      };
      chain.hasReceipt = (port, channel, sequence) => {
        if (port !== TRANSFER_PORT) return false;
        const end = chain.channels.get(`${TRANSFER_PORT}/${channel}`);
        const r = end && this.packets.get(SimNetwork.packetKey(end.counterpartyChainId, end.counterpartyChannelId, String(sequence)));
        return r !== undefined && (r.state === 'received' || r.state === 'acknowledged');
      };
    }
  }

  /**
   * Opens a new transfer channel between two chains, with channel ids chain-registry does not know (as a channel
   * opened after the registry was published): only chain state (ChannelClientState) tells where it leads.
   */
  openChannel(aChainId: string, bChainId: string, ordering: ChannelState['ordering'] = 'UNORDERED'): Path {
    const a = this.chains.get(aChainId);
    const b = this.chains.get(bChainId);
    if (!a || !b || a === b) throw new Error(`a channel needs two different chains chain-sim runs, not ${aChainId} and ${bChainId}`);
    this.openedChannels += 1;
    const id = 90_000 + this.openedChannels;
    const path: Path = {
      a: { chainId: aChainId, channelId: `channel-${id}`, connectionId: `connection-${id}` },
      b: { chainId: bChainId, channelId: `channel-${id + 500}`, connectionId: `connection-${id + 500}` },
    };
    this.addPath(path);
    this.channelEnd(aChainId, path.a.channelId).ordering = ordering;
    this.channelEnd(bChainId, path.b.channelId).ordering = ordering;
    return path;
  }

  static packetKey(srcChainId: string, srcChannel: string, sequence: string): string {
    return `${srcChainId}/${srcChannel}/${sequence}`;
  }

  walletsOf(chainId: string): string[] {
    return this.wallets.get(chainId) ?? [];
  }

  /** A relayer key's address on a chain. */
  relayerAddress(key: string, chainId: string): string {
    return address(this.chains.get(chainId)!.info.bech32Prefix, key);
  }

  relayersOf(chainId: string, channelId: string): string[] {
    const dir = this.directions.find((d) => d.src.chainId === chainId && d.src.channelId === channelId);
    return dir ? dir.relayers.map((k) => this.relayerAddress(k, chainId)) : [];
  }

  paths(): Direction[] {
    return this.directions;
  }

  /** One block on every chain: due relays and timeouts, new traffic, then the blocks themselves. */
  tick(now = new Date()): void {
    this.tickCount += 1;
    for (const action of this.schedule.get(this.tickCount) ?? []) action();
    this.schedule.delete(this.tickCount);
    this.relayDueTimeouts(now);
    for (let i = 0; i < this.options.transfersPerBlock * this.chains.size; i++) this.randomTransfer(now);
    for (const chain of this.chains.values()) {
      if (this.halted.has(chain.chainId)) continue;
      const block = chain.produceBlock(now);
      for (const listener of this.onBlock) listener(chain, block);
    }
  }

  private later(ticks: number, action: Action): void {
    const at = this.tickCount + Math.max(1, ticks);
    const list = this.schedule.get(at) ?? [];
    list.push(action);
    this.schedule.set(at, list);
  }

  private randomFate(): Fate {
    const r = this.prng.next();
    const s = this.options.shares;
    let acc = 0;
    for (const fate of ['awaiting_recv', 'awaiting_ack', 'timeout_pending', 'timed_out'] as const) {
      acc += s[fate];
      if (r < acc) return fate;
    }
    return 'relayed';
  }

  private randomTransfer(now: Date): void {
    if (this.directions.length === 0) return;
    const dir = this.prng.pick(this.directions);
    // Background traffic is ICS-20 on UNORDERED channels, sent only from an OPEN end (ibc-go's SendPacket refuses
    // any other): a channel made ORDERED or closed for a test carries only the packets the test sends.
    const end = this.channelEnd(dir.src.chainId, dir.src.channelId);
    if (end.state !== 'OPEN' || end.ordering !== 'UNORDERED' || this.channelEnd(dir.dst.chainId, dir.dst.channelId).ordering !== 'UNORDERED') return;
    const src = this.chains.get(dir.src.chainId)!;
    const blockShare = this.options.blockLevelShare?.[dir.src.chainId] ?? 0;
    const asyncShare = this.options.asyncAckShare?.[dir.dst.chainId] ?? 0;
    this.transfer({
      blockLevel: blockShare > 0 && this.prng.next() < blockShare,
      asyncAck: asyncShare > 0 && this.prng.next() < asyncShare,
      srcChainId: dir.src.chainId,
      srcChannel: dir.src.channelId,
      sender: this.prng.pick(this.walletsOf(dir.src.chainId)),
      receiver: this.prng.pick(this.walletsOf(dir.dst.chainId)),
      amount: String(this.prng.int(1, 5_000) * 1_000),
      denom: src.info.denom,
      fate: this.randomFate(),
      now,
    });
  }

  /** Sends an ICS-20 transfer; its fate decides what relayers will do with it. */
  transfer(t: {
    srcChainId: string;
    srcChannel: string;
    sender: string;
    receiver: string;
    amount: string;
    denom: string;
    fate: Fate;
    now?: Date;
    /** Sent by the chain itself at EndBlock: a send_packet among the block's events, with no transaction. */
    blockLevel?: boolean;
    /** The destination writes the acknowledgement in a later transaction than the receipt. */
    asyncAck?: boolean;
    /** 2: the packet data is ICS-20 v2 protobuf (ibc-go v9 ics20-2 channel), one token. */
    ics20Version?: 1 | 2;
    /** The channel has ICS-29 fee middleware: the acknowledgement is an IncentivizedAcknowledgement. */
    feeWrappedAck?: boolean;
  }): SimPacket {
    const dir = this.directions.find((d) => d.src.chainId === t.srcChainId && d.src.channelId === t.srcChannel);
    if (!dir) throw new Error(`no path from ${t.srcChainId} on ${t.srcChannel}`);
    const src = this.chains.get(dir.src.chainId)!;
    const dst = this.chains.get(dir.dst.chainId)!;
    const seqKey = `${dir.src.chainId}/${dir.src.channelId}`;
    const sequence = (this.nextSequence.get(seqKey) ?? this.options.initialSequence - 1n) + 1n;
    this.nextSequence.set(seqKey, sequence);

    const now = t.now ?? new Date();
    const shortTimeout = t.fate === 'timeout_pending' || t.fate === 'timed_out';
    const byHeight = this.prng.next() < 0.5;
    const horizonBlocks = shortTimeout ? this.prng.int(3, 6) : 10_000;
    const timeoutHeight = byHeight
      ? { revisionNumber: BigInt(dst.info.revision), revisionHeight: BigInt(dst.height + horizonBlocks) }
      : { revisionNumber: 0n, revisionHeight: 0n };
    const timeoutTimestampNs = byHeight ? 0n : BigInt(now.getTime() + horizonBlocks * this.options.blockTimeMs) * 1_000_000n;
    const data =
      t.ics20Version === 2
        ? Buffer.from(encodeTransferDataV2({ tokens: [{ base: t.denom, trace: [], amount: t.amount }], sender: t.sender, receiver: t.receiver }))
        : Buffer.from(JSON.stringify({ amount: t.amount, denom: t.denom, receiver: t.receiver, sender: t.sender }));
    // ICS-29 wraps the application's ack; the forward relayer is the one that will relay the receipt (any address).
    const ack = t.feeWrappedAck
      ? Buffer.from(JSON.stringify({ app_acknowledgement: ACK_SUCCESS.toString('base64'), forward_relayer_address: this.relayerAddress(dir.relayers[0]!, dir.src.chainId), underlying_app_success: true }))
      : ACK_SUCCESS;

    const packet: Packet = {
      sequence,
      sourcePort: TRANSFER_PORT,
      sourceChannel: dir.src.channelId,
      destinationPort: TRANSFER_PORT,
      destinationChannel: dir.dst.channelId,
      data,
      timeoutHeight,
      timeoutTimestamp: timeoutTimestampNs,
    };
    const msg = MsgTransfer.fromPartial({
      sourcePort: TRANSFER_PORT,
      sourceChannel: dir.src.channelId,
      token: { denom: t.denom, amount: t.amount },
      sender: t.sender,
      receiver: t.receiver,
      timeoutHeight,
      timeoutTimestamp: timeoutTimestampNs,
      memo: '',
    });
    let sendTxHash = '';
    if (t.blockLevel) {
      src.emitAtEndBlock([ev('send_packet', this.packetAttributes(src, packet, dir.src.connectionId, undefined, { data: true }))]);
    } else {
      sendTxHash = src.submit(
        [any(MsgTransfer.typeUrl, MsgTransfer.encode(msg).finish())],
        [
          this.message(src, '/ibc.applications.transfer.v1.MsgTransfer', t.sender, 'ibc_channel', 0),
          ev('send_packet', this.packetAttributes(src, packet, dir.src.connectionId, 0, { data: true })),
          ev('ibc_transfer', [['sender', t.sender], ['receiver', t.receiver], ['amount', t.amount], ['denom', t.denom], ['memo', '']]),
        ],
      ).hash;
    }
    const record: SimPacket = {
      srcChainId: dir.src.chainId,
      srcChannel: dir.src.channelId,
      dstChainId: dir.dst.chainId,
      dstChannel: dir.dst.channelId,
      sequence: sequence.toString(),
      fate: t.fate,
      state: 'sent',
      sender: t.sender,
      receiver: t.receiver,
      denom: t.denom,
      amount: t.amount,
      timeoutHeight,
      timeoutTimestampNs,
      sendTxHash,
      asyncAck: t.fate === 'ack_pending' || (t.asyncAck ?? false),
      ackWritten: false,
      data,
      ack,
      recvRelayers: [],
      ackRelayers: [],
      timeoutRelayers: [],
    };
    this.packets.set(SimNetwork.packetKey(record.srcChainId, record.srcChannel, record.sequence), record);
    const channelKey = `${record.srcChainId}/${record.srcChannel}`;
    const sent = this.bySource.get(channelKey);
    if (sent) sent.push(record);
    else this.bySource.set(channelKey, [record]);

    if (t.fate === 'relayed' || t.fate === 'awaiting_ack' || t.fate === 'ack_pending') {
      this.later(this.prng.int(1, 3), () => this.relayRecv(record, packet, dir, t.fate === 'relayed'));
    } else if (t.fate === 'timed_out') {
      this.timeoutWatch.add(record);
    }
    return record;
  }

  /**
   * Relays a stuck packet on demand, as a relayer (or Unstuck's clearing) would. What ibc-go would refuse is not
   * relayed, and the answer says why in ibc-go's words: a receipt or acknowledgement on a channel end that is not
   * OPEN, a proof verified by a client that is not Active, an ORDERED channel's sequence out of order.
   */
  relay(srcChainId: string, srcChannel: string, sequence: string, relayer?: string): 'recv' | 'ack' | 'timeout' | 'nothing to relay' | `refused: ${string}` {
    const record = this.packets.get(SimNetwork.packetKey(srcChainId, srcChannel, sequence));
    if (!record) return 'nothing to relay';
    const dir = this.directions.find((d) => d.src.chainId === srcChainId && d.src.channelId === srcChannel)!;
    const packet = this.packetOf(record);
    const srcEnd = this.channelEnd(record.srcChainId, record.srcChannel);
    const dstEnd = this.channelEnd(record.dstChainId, record.dstChannel);
    if (record.state === 'sent' && this.timeoutPassed(record, new Date())) {
      if (srcEnd.clientStatus !== 'Active') return `refused: client ${srcEnd.clientId} status is not active (got ${srcEnd.clientStatus})`;
      this.later(1, () => this.relayTimeout(record, packet, dir, relayer));
      return 'timeout';
    }
    if (record.state === 'sent') {
      if (dstEnd.state !== 'OPEN') return `refused: channel is not OPEN (got STATE_${dstEnd.state})`;
      if (dstEnd.clientStatus !== 'Active') return `refused: client ${dstEnd.clientId} status is not active (got ${dstEnd.clientStatus})`;
      if (dstEnd.ordering === 'ORDERED') {
        const next = this.nextSequenceRecv(record.dstChainId, TRANSFER_PORT, record.dstChannel);
        if (BigInt(record.sequence) !== next) return `refused: packet sequence ≠ next receive sequence (${record.sequence} ≠ ${next}): packet sequence is out of order`;
      }
      this.later(1, () => this.relayRecv(record, packet, dir, true, relayer));
      return 'recv';
    }
    // An acknowledgement not written yet cannot be relayed: there is nothing to prove.
    if (record.state === 'received' && record.ackWritten) {
      if (srcEnd.state !== 'OPEN') return `refused: channel is not OPEN (got STATE_${srcEnd.state})`;
      if (srcEnd.clientStatus !== 'Active') return `refused: client ${srcEnd.clientId} status is not active (got ${srcEnd.clientStatus})`;
      this.later(1, () => this.relayAck(record, packet, dir, relayer));
      return 'ack';
    }
    return 'nothing to relay';
  }

  private channelEnd(chainId: string, channel: string): ChannelState {
    return this.chains.get(chainId)!.channels.get(`${TRANSFER_PORT}/${channel}`)!;
  }

  /**
   * An ORDERED channel end's next sequence to receive: the lowest sequence sent to it not yet received (ibc-go
   * stores it and increments it on each receipt; chain-sim derives it from its packets), else one past the highest.
   */
  nextSequenceRecv(chainId: string, port: string, channel: string): bigint {
    let lowest: bigint | undefined;
    let highest = 0n;
    for (const p of this.packets.values()) {
      if (p.dstChainId !== chainId || p.dstChannel !== channel || port !== TRANSFER_PORT) continue;
      const seq = BigInt(p.sequence);
      if (seq > highest) highest = seq;
      if (p.state === 'sent' && (lowest === undefined || seq < lowest)) lowest = seq;
    }
    return lowest ?? highest + 1n;
  }

  /**
   * Sets a channel end's state, ordering or its client's status, as governance, a misbehaviour, an expired trusting
   * period or a timeout on an ORDERED channel would (for tests and demos of what cannot be cleared).
   */
  setChannelEnd(chainId: string, channel: string, patch: Partial<Pick<ChannelState, 'state' | 'ordering' | 'clientStatus'>>): ChannelState {
    const end = this.chains.get(chainId)?.channels.get(`${TRANSFER_PORT}/${channel}`);
    if (!end) throw new Error(`${chainId} has no channel ${TRANSFER_PORT}/${channel}`);
    return Object.assign(end, patch);
  }

  /**
   * A transaction whose send_packet event is broken the way a buggy or hostile chain might break it, for fault
   * tests: the ingest must dead-letter it and carry on.
   */
  malformed(chainId: string, kind: 'bad_hex' | 'missing_sequence' | 'invalid_json' | 'absurd_sequence'): string {
    const chain = this.chains.get(chainId);
    if (!chain) throw new Error(`unknown chain ${chainId}`);
    const dir = this.directions.find((d) => d.src.chainId === chainId)!;
    const attrs: Array<[string, string]> = [
      ['packet_data_hex', kind === 'bad_hex' ? 'zz-not-hex' : Buffer.from(kind === 'invalid_json' ? '{"amount":' : '{"amount":"1","denom":"x","sender":"a","receiver":"b"}').toString('hex')],
      ['packet_timeout_height', '0-0'],
      ['packet_timeout_timestamp', '0'],
      ['packet_src_port', TRANSFER_PORT],
      ['packet_src_channel', dir.src.channelId],
      ['packet_dst_port', TRANSFER_PORT],
      ['packet_dst_channel', dir.dst.channelId],
    ];
    if (kind !== 'missing_sequence') attrs.push(['packet_sequence', kind === 'absurd_sequence' ? '99999999999999999999999' : '1']);
    return chain.submit([], [ev('send_packet', attrs)]).hash;
  }

  /**
   * An IBC v2 (ibc-go v10) packet sent from `chainId`: send_packet with client ids instead of ports and channels and
   * the packet as encoded_packet_hex, as the 04-channel/v2 module emits it. Ingest counts it as unsupported.
   */
  ibcV2Send(chainId: string): string {
    const chain = this.chains.get(chainId);
    if (!chain) throw new Error(`unknown chain ${chainId}`);
    this.v2Sequence += 1n;
    const attrs: Array<[string, string]> = [
      ['packet_source_client', '07-tendermint-0'],
      ['packet_dest_client', '08-wasm-0'],
      ['packet_sequence', this.v2Sequence.toString()],
      ['packet_timeout_timestamp', String(Math.floor(Date.now() / 1000) + 600)],
      ['encoded_packet_hex', Buffer.from(`v2 packet ${this.v2Sequence}`).toString('hex')],
    ];
    if (chain.cometVersion === '0.38') attrs.push(['msg_index', '0']);
    return chain.submit([], [ev('send_packet', attrs)]).hash;
  }

  /** A bank send, e.g. a clearing fee paid with a CLR- memo. */
  bankSend(chainId: string, from: string, to: string, amount: string, denom: string, memo: string): string {
    return this.bankPayment({ chainId, from, to, coins: [{ denom, amount }], memo });
  }

  /**
   * Coins from one account to another in one transaction, as a wallet would send them: a MsgSend, a MsgMultiSend
   * (one input, one output per recipient), or a MsgSend inside an authz MsgExec signed by a grantee (the granter's
   * funds move). Events as the bank module emits them (a `transfer` per output; authz adds its own message event).
   */
  bankPayment(p: {
    chainId: string;
    from: string;
    to: string;
    coins: Array<{ denom: string; amount: string }>;
    memo: string;
    message?: 'send' | 'multi_send' | 'authz_exec';
    grantee?: string;
  }): string {
    const chain = this.chains.get(p.chainId);
    if (!chain) throw new Error(`unknown chain ${p.chainId}`);
    const coins = p.coins.map((c) => `${c.amount}${c.denom}`).join(',');
    const send = MsgSend.fromPartial({ fromAddress: p.from, toAddress: p.to, amount: p.coins });
    if (p.message === 'multi_send') {
      const msg = MsgMultiSend.fromPartial({ inputs: [{ address: p.from, coins: p.coins }], outputs: [{ address: p.to, coins: p.coins }] });
      const events = [
        this.message(chain, '/cosmos.bank.v1beta1.MsgMultiSend', p.from, 'bank', 0),
        ev('coin_spent', [['spender', p.from], ['amount', coins]]),
        ev('coin_received', [['receiver', p.to], ['amount', coins]]),
        ev('transfer', [['recipient', p.to], ['amount', coins]]),
      ];
      return chain.submit([any(MsgMultiSend.typeUrl, MsgMultiSend.encode(msg).finish())], events, { memo: p.memo }).hash;
    }
    if (p.message === 'authz_exec') {
      const grantee = p.grantee ?? p.from;
      const msg = MsgExec.fromPartial({ grantee, msgs: [any(MsgSend.typeUrl, MsgSend.encode(send).finish())] });
      const events = [this.message(chain, '/cosmos.authz.v1beta1.MsgExec', grantee, 'authz', 0), ...this.bankSendEvents(chain, p.from, p.to, coins).slice(1)];
      return chain.submit([any(MsgExec.typeUrl, MsgExec.encode(msg).finish())], events, { memo: p.memo }).hash;
    }
    return chain.submit([any(MsgSend.typeUrl, MsgSend.encode(send).finish())], this.bankSendEvents(chain, p.from, p.to, coins), { memo: p.memo }).hash;
  }

  /** The events the bank module emits for a MsgSend of `coins` ("1000uatom,5uosmo"). */
  bankSendEvents(chain: SimChain, from: string, to: string, coins: string): SimEvent[] {
    return [
      this.message(chain, '/cosmos.bank.v1beta1.MsgSend', from, 'bank', 0),
      ev('coin_spent', [['spender', from], ['amount', coins]]),
      ev('coin_received', [['receiver', to], ['amount', coins]]),
      ev('transfer', [['recipient', to], ['sender', from], ['amount', coins]]),
    ];
  }

  private packetOf(r: SimPacket): Packet {
    return {
      sequence: BigInt(r.sequence),
      sourcePort: TRANSFER_PORT,
      sourceChannel: r.srcChannel,
      destinationPort: TRANSFER_PORT,
      destinationChannel: r.dstChannel,
      data: r.data,
      timeoutHeight: r.timeoutHeight,
      timeoutTimestamp: r.timeoutTimestampNs,
    };
  }

  /** The relayers that race for one relay: the first wins, the others are frontrun. */
  private racers(dir: Direction, onChain: string, chosen?: string): string[] {
    if (chosen) return [chosen];
    const first = this.prng.pick(dir.relayers);
    let keys = [first];
    if (this.prng.next() < this.options.raceProbability) {
      const others = dir.relayers.filter((r) => r !== first);
      keys = [first, ...others.slice(0, this.prng.int(1, Math.max(1, others.length)))];
    }
    return keys.map((k) => this.relayerAddress(k, onChain));
  }

  private relayRecv(record: SimPacket, packet: Packet, dir: Direction, thenAck: boolean, relayer?: string): void {
    if (record.state !== 'sent') return;
    const dst = this.chains.get(dir.dst.chainId)!;
    const racers = this.racers(dir, dir.dst.chainId, relayer);
    racers.forEach((signer, i) => {
      const msg = any(MsgRecvPacket.typeUrl, MsgRecvPacket.encode(MsgRecvPacket.fromPartial({ packet, signer })).finish());
      const events: SimEvent[] = [this.message(dst, '/ibc.core.channel.v1.MsgRecvPacket', signer, 'ibc_channel', 0)];
      if (i === 0) {
        events.push(ev('recv_packet', this.packetAttributes(dst, packet, dir.dst.connectionId, 0, { data: true })));
        // ibc-go writes the acknowledgement in the receipt's transaction only when the application returns one.
        if (!record.asyncAck) events.push(ev('write_acknowledgement', this.packetAttributes(dst, packet, dir.dst.connectionId, 0, { data: true, ack: Buffer.from(record.ack) })));
        events.push(
          ev('fungible_token_packet', [['module', 'transfer'], ['sender', record.sender], ['receiver', record.receiver], ['denom', record.denom], ['amount', record.amount], ['success', 'true']]),
        );
      }
      dst.submit([msg], events);
    });
    record.state = 'received';
    record.recvRelayers = racers;
    if (!record.asyncAck) {
      record.ackWritten = true;
      if (thenAck) this.later(this.prng.int(1, 3), () => this.relayAck(record, packet, dir));
    } else if (record.fate !== 'ack_pending') {
      // The application acknowledges a few blocks later, in a transaction of its own; then relayers bring it back.
      this.later(this.prng.int(2, 4), () => this.writeAckLater(record, packet, dir, thenAck));
    }
  }

  /** An async acknowledgement: write_acknowledgement in a later transaction on the destination, with no receipt beside it. */
  private writeAckLater(record: SimPacket, packet: Packet, dir: Direction, thenAck: boolean): void {
    if (record.state !== 'received' || record.ackWritten) return;
    const dst = this.chains.get(dir.dst.chainId)!;
    dst.submit([], [ev('write_acknowledgement', this.packetAttributes(dst, packet, dir.dst.connectionId, 0, { data: true, ack: Buffer.from(record.ack) }))]);
    record.ackWritten = true;
    if (thenAck) this.later(this.prng.int(1, 3), () => this.relayAck(record, packet, dir));
  }

  private relayAck(record: SimPacket, packet: Packet, dir: Direction, relayer?: string): void {
    if (record.state !== 'received') return;
    const src = this.chains.get(dir.src.chainId)!;
    const racers = this.racers(dir, dir.src.chainId, relayer);
    racers.forEach((signer, i) => {
      const msg = any(
        MsgAcknowledgement.typeUrl,
        MsgAcknowledgement.encode(MsgAcknowledgement.fromPartial({ packet, acknowledgement: record.ack, signer })).finish(),
      );
      const events: SimEvent[] = [this.message(src, '/ibc.core.channel.v1.MsgAcknowledgement', signer, 'ibc_channel', 0)];
      if (i === 0) {
        events.push(
          ev('acknowledge_packet', this.packetAttributes(src, packet, dir.src.connectionId, 0, {})),
          ev('fungible_token_packet', [['module', 'transfer'], ['receiver', record.receiver], ['denom', record.denom], ['amount', record.amount], ['acknowledgement', 'result:"AQ=="']]),
        );
      }
      src.submit([msg], events);
    });
    record.state = 'acknowledged';
    record.ackRelayers = racers;
  }

  private relayTimeout(record: SimPacket, packet: Packet, dir: Direction, relayer?: string): void {
    if (record.state !== 'sent') return;
    const src = this.chains.get(dir.src.chainId)!;
    const dst = this.chains.get(dir.dst.chainId)!;
    const racers = this.racers(dir, dir.src.chainId, relayer);
    racers.forEach((signer, i) => {
      const msg = any(
        MsgTimeout.typeUrl,
        MsgTimeout.encode(MsgTimeout.fromPartial({ packet, nextSequenceRecv: packet.sequence, proofHeight: { revisionNumber: BigInt(dst.info.revision), revisionHeight: BigInt(dst.height) }, signer })).finish(),
      );
      const events: SimEvent[] = [this.message(src, '/ibc.core.channel.v1.MsgTimeout', signer, 'ibc_channel', 0)];
      if (i === 0) {
        events.push(
          ev('timeout_packet', this.packetAttributes(src, packet, dir.src.connectionId, 0, {})),
          ev('timeout', [['module', 'transfer'], ['refund_receiver', record.sender], ['refund_denom', record.denom], ['refund_amount', record.amount]]),
        );
      }
      src.submit([msg], events);
    });
    record.state = 'timed_out';
    record.timeoutRelayers = racers;
  }

  private timeoutPassed(record: SimPacket, now: Date): boolean {
    const dst = this.chains.get(record.dstChainId)!;
    const byHeight = record.timeoutHeight.revisionHeight > 0n && BigInt(dst.height) >= record.timeoutHeight.revisionHeight;
    const latest = dst.latest()?.time ?? now;
    const byTime = record.timeoutTimestampNs > 0n && BigInt(latest.getTime()) * 1_000_000n >= record.timeoutTimestampNs;
    return byHeight || byTime;
  }

  private relayDueTimeouts(now: Date): void {
    for (const record of this.timeoutWatch) {
      if (!this.timeoutPassed(record, now)) continue;
      this.timeoutWatch.delete(record);
      const dir = this.directions.find((d) => d.src.chainId === record.srcChainId && d.src.channelId === record.srcChannel)!;
      this.later(this.prng.int(1, 2), () => this.relayTimeout(record, this.packetOf(record), dir));
    }
  }

  /** The SDK's per-message `message` event; SDK 0.50 chains (CometBFT 0.38) index it by msg_index. */
  private message(chain: SimChain, action: string, sender: string, module: string, msgIndex: number): SimEvent {
    const attrs: Array<[string, string]> = [['action', action], ['sender', sender], ['module', module]];
    if (chain.cometVersion === '0.38') attrs.push(['msg_index', String(msgIndex)]);
    return ev('message', attrs);
  }

  /** ibc-go's packet event attributes, with the deprecated and the current forms side by side as real chains emit them. */
  private packetAttributes(chain: SimChain, p: Packet, connectionId: string, msgIndex: number | undefined, include: { data?: boolean; ack?: Buffer }): Array<[string, string]> {
    const attrs: Array<[string, string]> = [];
    if (include.data) {
      attrs.push(['packet_data', Buffer.from(p.data).toString('utf8')], ['packet_data_hex', Buffer.from(p.data).toString('hex')]);
    }
    attrs.push(
      ['packet_timeout_height', `${p.timeoutHeight?.revisionNumber ?? 0n}-${p.timeoutHeight?.revisionHeight ?? 0n}`],
      ['packet_timeout_timestamp', p.timeoutTimestamp.toString()],
      ['packet_sequence', p.sequence.toString()],
      ['packet_src_port', p.sourcePort],
      ['packet_src_channel', p.sourceChannel],
      ['packet_dst_port', p.destinationPort],
      ['packet_dst_channel', p.destinationChannel],
      ['packet_channel_ordering', 'ORDER_UNORDERED'],
      ['packet_connection', connectionId],
      ['connection_id', connectionId],
    );
    if (include.ack) attrs.push(['packet_ack', include.ack.toString('utf8')], ['packet_ack_hex', include.ack.toString('hex')]);
    // A block-level event belongs to no message: it has no msg_index.
    if (chain.cometVersion === '0.38' && msgIndex !== undefined) attrs.push(['msg_index', String(msgIndex)]);
    return attrs;
  }
}
