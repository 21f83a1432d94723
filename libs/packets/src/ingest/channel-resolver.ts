import { Logger } from '@nestjs/common';
import { QueryChannelClientStateRequest, QueryChannelClientStateResponse } from 'cosmjs-types/ibc/core/channel/v1/query';
import { ClientState as TendermintClientState } from 'cosmjs-types/ibc/lightclients/tendermint/v1/tendermint';
import type { Database } from '@unstuck/db';
import { metric } from '@unstuck/observability';
import type { CometRpcClient } from './comet-rpc-client';
import type { CounterpartyDirectory } from './counterparty-directory';

export const CHANNEL_CLIENT_STATE_PATH = '/ibc.core.channel.v1.Query/ChannelClientState';
const TENDERMINT_CLIENT = '/ibc.lightclients.tendermint.v1.ClientState';

/** Why a channel's counterparty could not be read from chain state. */
export class ChannelQueryError extends Error {
  constructor(
    readonly reason: 'not_found' | 'not_tendermint' | 'query_failed',
    message: string,
  ) {
    super(message);
    this.name = 'ChannelQueryError';
  }
}

/** The request bytes of ibc-go's ChannelClientState query (protobuf), hex as abci_query takes them. */
export function channelClientStateQuery(port: string, channel: string): string {
  return Buffer.from(QueryChannelClientStateRequest.encode(QueryChannelClientStateRequest.fromPartial({ portId: port, channelId: channel })).finish()).toString('hex');
}

/**
 * The chain id at the other end of a channel, from ibc-go's ChannelClientState answer: the channel's connection's
 * light client tracks the counterparty chain, and a Tendermint client state names its chain id. Another client
 * type (solo machine, 08-wasm) does not say which chain it is.
 */
export function counterpartyFromClientState(answer: { code: number; log: string; value: Uint8Array }, port: string, channel: string): string {
  if (answer.code !== 0) throw new ChannelQueryError('not_found', `${port}/${channel}: the chain answered code ${answer.code}: ${answer.log || 'no log'}`);
  const response = QueryChannelClientStateResponse.decode(answer.value);
  const any = response.identifiedClientState?.clientState;
  if (!any) throw new ChannelQueryError('not_found', `${port}/${channel}: no client state in the answer`);
  if (any.typeUrl !== TENDERMINT_CLIENT) {
    throw new ChannelQueryError('not_tendermint', `${port}/${channel}: client ${response.identifiedClientState?.clientId} is a ${any.typeUrl}, which names no chain id`);
  }
  const chainId = TendermintClientState.decode(any.value).chainId;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(chainId)) throw new ChannelQueryError('not_tendermint', `${port}/${channel}: the client tracks an invalid chain id ${JSON.stringify(chainId.slice(0, 80))}`);
  return chainId;
}

const m = {
  queries: metric.counter({
    name: 'ingest_channel_queries_total',
    help: "channel counterparties asked of chain state (ChannelClientState), by outcome (resolved, not_found, not_tendermint, query_failed)",
    labelNames: ['chain_id', 'outcome'],
  }),
};

/** How long a channel that could not be resolved is not asked about again. */
const RETRY_UNRESOLVED_MS = 5 * 60_000;

/**
 * Resolves channels chain-registry and the chains file do not know from chain state (abci_query of
 * ChannelClientState), keeps what it learns in PostgreSQL (channel_counterparties) and in the directory the
 * decoders read. A channel the query cannot answer is asked again only after RETRY_UNRESOLVED_MS.
 */
export class ChannelResolver {
  private readonly logger = new Logger('ChannelResolver');
  private readonly unresolved = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly directory: CounterpartyDirectory,
  ) {}

  learnedFor(chainId: string): Array<[string, string]> {
    return this.directory.learnedFor(chainId);
  }

  /** Loads what earlier runs learned into the directory. */
  async load(): Promise<number> {
    const rows = await this.db.query<{ chain_id: string; port: string; channel: string; counterparty_chain_id: string }>(
      `SELECT chain_id, port, channel, counterparty_chain_id FROM channel_counterparties`,
    );
    for (const r of rows) this.directory.learn(r.chain_id, r.port, r.channel, r.counterparty_chain_id);
    return rows.length;
  }

  /**
   * Resolves the given channels of `rpc`'s chain; returns how many became known. Channels already known, or
   * unresolvable within the last few minutes, are skipped.
   */
  async resolve(rpc: CometRpcClient, channels: ReadonlyArray<{ port: string; channel: string }>): Promise<number> {
    let learned = 0;
    const now = Date.now();
    for (const { port, channel } of channels) {
      const key = `${rpc.chainId}/${port}/${channel}`;
      if (this.directory.resolve(rpc.chainId, port, channel) || (this.unresolved.get(key) ?? 0) > now) continue;
      try {
        const answer = await rpc.abciQuery(CHANNEL_CLIENT_STATE_PATH, channelClientStateQuery(port, channel));
        const other = counterpartyFromClientState(answer, port, channel);
        await this.db.query(
          `INSERT INTO channel_counterparties (chain_id, port, channel, counterparty_chain_id, source) VALUES ($1, $2, $3, $4, 'abci_query')
           ON CONFLICT (chain_id, port, channel) DO UPDATE SET counterparty_chain_id = EXCLUDED.counterparty_chain_id, resolved_at = now()`,
          [rpc.chainId, port, channel, other],
        );
        this.directory.learn(rpc.chainId, port, channel, other);
        this.unresolved.delete(key);
        learned += 1;
        m.queries.inc({ chain_id: rpc.chainId, outcome: 'resolved' });
        this.logger.log(`${key} leads to ${other} (from chain state: ChannelClientState)`);
      } catch (e) {
        const outcome = e instanceof ChannelQueryError ? e.reason : 'query_failed';
        m.queries.inc({ chain_id: rpc.chainId, outcome });
        this.unresolved.set(key, now + RETRY_UNRESOLVED_MS);
        this.logger.warn(`${key}: counterparty unknown to chain-registry and not readable from chain state: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    return learned;
  }
}
