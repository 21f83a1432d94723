import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { PacketId } from '@unstuck/contracts';
import { ClearingStore, type ChainHead, type ChannelEndFacts, type ClearableCandidate, type ClearabilityFacts } from '@unstuck/clearing';
import { IbcChainState, IbcNotFoundError, type CometRpcClient } from '@unstuck/packets';
import { metric } from '@unstuck/observability';
import { ClearingError } from './errors';
import { PaymentChains } from './payment-chains';

/** How long a chain's answer is reused: quotes in a burst ask each channel end once, and still see a change within seconds. */
const TTL_MS = 5_000;

const m = {
  queries: metric.counter({
    name: 'clearing_chain_state_queries_total',
    help: 'channel, client and head queries made before quoting, by chain and outcome (ok, not_found, failed)',
    labelNames: ['chain_id', 'outcome'],
  }),
};

/**
 * Reads what judging a quote needs from the chains themselves (ibc-go's queries over each chain's Comet RPC):
 * both channel ends with their clients' status, the destination's latest block, an ORDERED channel's next
 * sequence. Answers are cached for a few seconds. A chain Unstuck does not follow, a channel it does not have, or
 * a chain that cannot be asked right now become refusals that say so.
 */
@Injectable()
export class ChainStateReader {
  private readonly cache = new LRUCache<string, Promise<unknown>>({ max: 10_000, ttl: TTL_MS });

  constructor(
    @Inject(PaymentChains) private readonly chains: PaymentChains,
    @Inject(ClearingStore) private readonly store: ClearingStore,
  ) {}

  /** Everything `judgeClearable` will ask about these candidates, read concurrently. */
  async factsFor(candidates: readonly ClearableCandidate[]): Promise<ClearabilityFacts> {
    const ends = new Map<string, Promise<ChannelEndFacts>>();
    const heads = new Map<string, Promise<ChainHead>>();
    for (const c of candidates) {
      for (const [chain, port, channel] of [
        [c.packet.src_chain_id, c.packet.src_port, c.packet.src_channel],
        [c.dstChainId, c.dstPort, c.dstChannel],
      ] as const) {
        const key = `${chain}/${port}/${channel}`;
        if (!ends.has(key)) ends.set(key, this.end(chain, port, channel));
      }
      if (c.kind !== 'awaiting_ack' && !heads.has(c.dstChainId)) heads.set(c.dstChainId, this.head(c.dstChainId));
    }
    const endFacts = new Map(await Promise.all([...ends].map(async ([k, p]) => [k, await p] as const)));
    const headFacts = new Map(await Promise.all([...heads].map(async ([k, p]) => [k, await p] as const)));
    const acksBelow = new Map<string, bigint[]>();
    for (const c of candidates) {
      const src = endFacts.get(`${c.packet.src_chain_id}/${c.packet.src_port}/${c.packet.src_channel}`)!;
      if (c.kind === 'awaiting_ack' && src.ordering === 'ORDER_ORDERED') {
        acksBelow.set(idKey(c.packet), await this.store.awaitingAckBelow(c.packet.src_chain_id, c.packet.src_port, c.packet.src_channel, BigInt(c.packet.sequence)));
      }
    }
    return {
      end: (chain, port, channel) => endFacts.get(`${chain}/${port}/${channel}`)!,
      head: (chain) => headFacts.get(chain)!,
      awaitingAckBelow: (packet: PacketId) => acksBelow.get(idKey(packet)) ?? [],
    };
  }

  private rpc(chainId: string): CometRpcClient {
    const rpc = this.chains.rpcOf(chainId);
    if (!rpc) throw new ClearingError(400, 'chain_not_followed', `Unstuck does not follow ${chainId}, so it cannot relay packets to or from it`);
    return rpc;
  }

  private end(chainId: string, port: string, channel: string): Promise<ChannelEndFacts> {
    return this.cached(`end:${chainId}/${port}/${channel}`, chainId, async () => {
      const ibc = new IbcChainState(this.rpc(chainId));
      const [end, clientId] = await Promise.all([ibc.channel(port, channel), ibc.channelClientId(port, channel)]);
      const [clientStatus, nextSequenceRecv] = await Promise.all([
        ibc.clientStatus(clientId),
        end.ordering === 'ORDER_ORDERED' ? ibc.nextSequenceReceive(port, channel) : Promise.resolve(undefined),
      ]);
      return { chainId, port, channel, state: end.state, ordering: end.ordering, clientId, clientStatus, nextSequenceRecv };
    });
  }

  private head(chainId: string): Promise<ChainHead> {
    return this.cached(`head:${chainId}`, chainId, async () => {
      const status = await this.rpc(chainId).status();
      // Milliseconds are what Date reads: the head's time rounds down, so a timeout is never judged passed early.
      return { height: BigInt(status.latestHeight), timeNs: BigInt(Date.parse(status.latestTime)) * 1_000_000n };
    });
  }

  /** One answer per key while it is fresh; a failure is not kept, and becomes a refusal naming the chain. */
  private cached<T>(key: string, chainId: string, read: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key) as Promise<T> | undefined;
    if (hit) return hit;
    const p = read().then(
      (v) => (m.queries.inc({ chain_id: chainId, outcome: 'ok' }), v),
      (e: unknown) => {
        this.cache.delete(key);
        if (e instanceof ClearingError) throw e;
        if (e instanceof IbcNotFoundError) {
          m.queries.inc({ chain_id: chainId, outcome: 'not_found' });
          throw new ClearingError(400, 'channel_not_found', `${e.message}; a packet on a channel the chain does not have cannot be relayed`);
        }
        m.queries.inc({ chain_id: chainId, outcome: 'failed' });
        throw new ClearingError(503, 'chain_state_unavailable', `could not read ${chainId}'s channel state to confirm the packets can be cleared (${(e as Error).message}); nothing was charged — try again shortly`);
      },
    );
    this.cache.set(key, p);
    return p;
  }
}

const idKey = (p: PacketId) => `${p.src_chain_id}/${p.src_port}/${p.src_channel}/${p.sequence}`;
