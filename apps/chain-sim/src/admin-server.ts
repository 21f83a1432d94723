import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CHANNEL_STATES, CLIENT_STATUSES, type ChannelState, type ChannelStateName, type ClientStatus } from './ibc-queries';
import type { Fate, SimNetwork } from './network';
import { PROFILES, type ChainRpcServer, type EndpointProfile } from './rpc-server';

const FATES: readonly Fate[] = ['relayed', 'awaiting_recv', 'awaiting_ack', 'timeout_pending', 'timed_out', 'ack_pending'];

class BadRequest extends Error {}

function need<T>(body: Record<string, unknown>, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = body[key];
  if (!check(v)) throw new BadRequest(`${key} must be ${what}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isUint = (v: unknown): v is string => typeof v === 'string' && /^[0-9]{1,30}$/.test(v);

/** A partial endpoint profile from a request body: known fields of the right type only. */
function profilePatch(body: Record<string, unknown>): Partial<EndpointProfile> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const current = PROFILES.default[key as keyof EndpointProfile];
    if (current === undefined) throw new BadRequest(`unknown profile field ${key}; known: ${Object.keys(PROFILES.default).join(', ')}`);
    if (typeof current === 'number' && !(Number.isInteger(value) && (value as number) >= 0)) throw new BadRequest(`${key} must be a non-negative integer`);
    if (typeof current === 'boolean' && typeof value !== 'boolean') throw new BadRequest(`${key} must be true or false`);
    patch[key] = value;
  }
  return patch as Partial<EndpointProfile>;
}

/**
 * chain-sim's admin API (a development tool, not part of any chain): set the traffic rate, inject a transfer,
 * make a payment, relay given sequences, stop and start a chain's RPC, and read the ground truth.
 */
export function startAdminServer(network: SimNetwork, endpoints: Map<string, ChainRpcServer[]>, port: number, host: string): Promise<Server> {
  const rpc = new Map([...endpoints].map(([id, list]) => [id, list[0]!]));
  const endpointView = (e: ChainRpcServer) => ({
    name: e.name,
    rpc: `http://${host}:${e.port}`,
    running: e.running,
    earliest_height: e.earliest,
    profile: e.profile,
    http_requests: e.counters.httpRequests,
    batches_refused: e.counters.batchesRefused,
    largest_batch: e.counters.largestBatch,
    largest_batch_after_refusal: e.counters.largestBatchAfterRefusal,
    refused_for_rate: e.refusedForRate,
  });
  const server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let body: Record<string, unknown> = {};
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          throw new BadRequest('body is not JSON');
        }
      }
      const route = `${req.method} ${url.pathname}`;
      const rpcMatch = /^POST \/chains\/([^/]+)\/rpc\/(stop|start)$/.exec(route);
      const blocksMatch = /^POST \/chains\/([^/]+)\/blocks\/(halt|resume)$/.exec(route);
      const endpointMatch = /^POST \/chains\/([^/]+)\/endpoints\/([^/]+)\/(stop|start|profile|cancel-subscriptions)$/.exec(route);
      if (route === 'GET /chains') {
        return reply(200, {
          chains: [...network.chains.values()].map((c) => ({
            chain_id: c.chainId,
            bech32_prefix: c.info.bech32Prefix,
            denom: c.info.denom,
            comet_version: c.cometVersion,
            height: c.height,
            rpc: `http://${host}:${rpc.get(c.chainId)!.port}`,
            rpc_running: rpc.get(c.chainId)!.running,
            producing_blocks: !network.halted.has(c.chainId),
            endpoints: (endpoints.get(c.chainId) ?? []).map(endpointView),
            wallets: network.walletsOf(c.chainId).slice(0, 5),
          })),
          paths: network.paths().map((d) => ({ src: d.src, dst: d.dst, relayers: network.relayersOf(d.src.chainId, d.src.channelId) })),
          transfers_per_block: network.options.transfersPerBlock,
          relay_latency_ms: network.relayLatencyMs,
        });
      }
      if (route === 'POST /rate') {
        const rate = Number(body.transfers_per_block);
        if (!Number.isInteger(rate) || rate < 0 || rate > 100_000) throw new BadRequest('transfers_per_block must be an integer 0–100000');
        network.options.transfersPerBlock = rate;
        return reply(200, { transfers_per_block: rate });
      }
      if (route === 'POST /transfer') {
        const fate = (body.fate ?? 'relayed') as Fate;
        if (!FATES.includes(fate)) throw new BadRequest(`fate must be one of ${FATES.join(', ')}`);
        const srcChainId = need(body, 'src_chain_id', isString, 'a chain id');
        const srcChannel = need(body, 'src_channel', isString, 'a channel id');
        const dir = network.paths().find((d) => d.src.chainId === srcChainId && d.src.channelId === srcChannel);
        if (!dir) throw new BadRequest(`no path from ${srcChainId} on ${srcChannel}`);
        const p = network.transfer({
          blockLevel: body.block_level === true,
          asyncAck: body.async_ack === true,
          ics20Version: body.ics20_version === 2 ? 2 : 1,
          feeWrappedAck: body.fee_wrapped_ack === true,
          srcChainId,
          srcChannel,
          sender: typeof body.sender === 'string' ? body.sender : network.walletsOf(srcChainId)[0]!,
          receiver: typeof body.receiver === 'string' ? body.receiver : network.walletsOf(dir.dst.chainId)[0]!,
          amount: typeof body.amount === 'string' ? need(body, 'amount', isUint, 'a decimal integer string') : '1000000',
          denom: typeof body.denom === 'string' ? body.denom : network.chains.get(srcChainId)!.info.denom,
          fate,
        });
        return reply(200, { src_chain_id: p.srcChainId, src_channel: p.srcChannel, sequence: p.sequence, tx_hash: p.sendTxHash, fate: p.fate });
      }
      if (route === 'POST /payment') {
        const coins = Array.isArray(body.coins)
          ? body.coins.map((c: unknown, i) => {
              const coin = (c ?? {}) as Record<string, unknown>;
              if (!isUint(coin.amount) || !isString(coin.denom)) throw new BadRequest(`coins[${i}] must be {"denom","amount"} with a decimal integer string amount`);
              return { denom: coin.denom, amount: coin.amount };
            })
          : [{ denom: need(body, 'denom', isString, 'a denom'), amount: need(body, 'amount', isUint, 'a decimal integer string') }];
        if (coins.length === 0) throw new BadRequest('coins must not be empty');
        const message = body.message ?? 'send';
        if (message !== 'send' && message !== 'multi_send' && message !== 'authz_exec') throw new BadRequest('message must be send, multi_send or authz_exec');
        const hash = network.bankPayment({
          chainId: need(body, 'chain_id', isString, 'a chain id'),
          from: need(body, 'from', isString, 'an address'),
          to: need(body, 'to', isString, 'an address'),
          coins,
          memo: typeof body.memo === 'string' ? body.memo : '',
          message,
          grantee: typeof body.grantee === 'string' ? body.grantee : undefined,
        });
        return reply(200, { tx_hash: hash });
      }
      if (route === 'POST /malformed') {
        const kinds = ['bad_hex', 'missing_sequence', 'invalid_json', 'absurd_sequence'] as const;
        const kind = body.kind as (typeof kinds)[number];
        if (!kinds.includes(kind)) throw new BadRequest(`kind must be one of ${kinds.join(', ')}`);
        return reply(200, { tx_hash: network.malformed(need(body, 'chain_id', isString, 'a chain id'), kind) });
      }
      if (route === 'POST /relay') {
        const chainId = need(body, 'src_chain_id', isString, 'a chain id');
        const channel = need(body, 'src_channel', isString, 'a channel id');
        const sequences = body.sequences;
        if (!Array.isArray(sequences) || sequences.length === 0 || !sequences.every((s) => isUint(String(s)))) {
          throw new BadRequest('sequences must be a non-empty array of packet sequences');
        }
        const relayer = typeof body.relayer === 'string' ? body.relayer : undefined;
        if (network.relayLatencyMs > 0) {
          // A relayer killed while it builds its proofs submits nothing: a caller that hung up gets nothing relayed.
          const gone = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), network.relayLatencyMs);
            res.once('close', () => (clearTimeout(timer), resolve(!res.writableEnded)));
          });
          if (gone) return;
        }
        if (network.relaysToIgnore > 0) {
          // A relayer that says it relayed and did not (Hermes printing status: success after its submission failed).
          network.relaysToIgnore -= 1;
          return reply(200, { relayed: sequences.map((s) => ({ sequence: String(s), action: 'recv' })) });
        }
        return reply(200, { relayed: sequences.map((s) => ({ sequence: String(s), action: network.relay(chainId, channel, String(s), relayer) })) });
      }
      if (route === 'POST /ibc-v2-packet') {
        const chainId = need(body, 'chain_id', isString, 'a chain id');
        if (!network.chains.has(chainId)) throw new BadRequest(`unknown chain ${chainId}`);
        return reply(200, { tx_hash: network.ibcV2Send(chainId) });
      }
      if (route === 'POST /channels') {
        const a = need(body, 'a_chain_id', isString, 'a chain id');
        const b = need(body, 'b_chain_id', isString, 'a chain id');
        if (!network.chains.has(a) || !network.chains.has(b) || a === b) throw new BadRequest(`a_chain_id and b_chain_id must be two different chains of ${[...network.chains.keys()].join(', ')}`);
        if (body.ordering !== undefined && body.ordering !== 'ORDERED' && body.ordering !== 'UNORDERED') throw new BadRequest('ordering must be ORDERED or UNORDERED');
        const path = network.openChannel(a, b, body.ordering === 'ORDERED' ? 'ORDERED' : 'UNORDERED');
        return reply(200, { a: path.a, b: path.b });
      }
      const channelMatch = /^POST \/chains\/([^/]+)\/channels\/transfer\/([^/]+)$/.exec(route);
      if (channelMatch) {
        const patch: Partial<Pick<ChannelState, 'state' | 'ordering' | 'clientStatus'>> = {};
        if (body.state !== undefined) {
          if (!CHANNEL_STATES.includes(body.state as ChannelStateName)) throw new BadRequest(`state must be one of ${CHANNEL_STATES.join(', ')}`);
          patch.state = body.state as ChannelStateName;
        }
        if (body.ordering !== undefined) {
          if (body.ordering !== 'ORDERED' && body.ordering !== 'UNORDERED') throw new BadRequest('ordering must be ORDERED or UNORDERED');
          patch.ordering = body.ordering;
        }
        if (body.client_status !== undefined) {
          if (!CLIENT_STATUSES.includes(body.client_status as ClientStatus)) throw new BadRequest(`client_status must be one of ${CLIENT_STATUSES.join(', ')}`);
          patch.clientStatus = body.client_status as ClientStatus;
        }
        try {
          return reply(200, network.setChannelEnd(decodeURIComponent(channelMatch[1]!), decodeURIComponent(channelMatch[2]!), patch));
        } catch (e) {
          throw new BadRequest((e as Error).message);
        }
      }
      if (route === 'POST /relay-mode') {
        const n = Number(body.ignore_next);
        if (!Number.isInteger(n) || n < 0 || n > 1000) throw new BadRequest('ignore_next must be an integer 0–1000');
        network.relaysToIgnore = n;
        return reply(200, { ignore_next: n });
      }
      if (route === 'POST /relay-latency') {
        const ms = Number(body.ms);
        if (!Number.isInteger(ms) || ms < 0 || ms > 600_000) throw new BadRequest('ms must be an integer 0–600000');
        network.relayLatencyMs = ms;
        return reply(200, { relay_latency_ms: ms });
      }
      if (blocksMatch) {
        const chainId = decodeURIComponent(blocksMatch[1]!);
        if (!network.chains.has(chainId)) throw new BadRequest(`unknown chain ${chainId}`);
        if (blocksMatch[2] === 'halt') network.halted.add(chainId);
        else network.halted.delete(chainId);
        return reply(200, { chain_id: chainId, producing_blocks: !network.halted.has(chainId) });
      }
      if (endpointMatch) {
        const endpoint = endpoints.get(decodeURIComponent(endpointMatch[1]!))?.find((e) => e.name === decodeURIComponent(endpointMatch[2]!));
        if (!endpoint) throw new BadRequest(`unknown endpoint ${endpointMatch[2]} of ${endpointMatch[1]}`);
        const action = endpointMatch[3];
        if (action === 'stop') await endpoint.stop();
        else if (action === 'start') await endpoint.start();
        else if (action === 'cancel-subscriptions') return reply(200, { cancelled: endpoint.cancelSubscriptions() });
        else Object.assign(endpoint.profile, profilePatch(body));
        return reply(200, endpointView(endpoint));
      }
      if (rpcMatch) {
        const server = rpc.get(decodeURIComponent(rpcMatch[1]!));
        if (!server) throw new BadRequest(`unknown chain ${rpcMatch[1]}`);
        if (rpcMatch[2] === 'stop') await server.stop();
        else await server.start();
        return reply(200, { chain_id: server.chain.chainId, rpc_running: server.running });
      }
      if (route === 'GET /packets') {
        const chain = url.searchParams.get('src_chain_id');
        const list = [...network.packets.values()].filter((p) => !chain || p.srcChainId === chain);
        return reply(200, {
          packets: list.map((p) => ({
            src_chain_id: p.srcChainId,
            src_channel: p.srcChannel,
            sequence: p.sequence,
            dst_chain_id: p.dstChainId,
            fate: p.fate,
            state: p.state,
            sender: p.sender,
            receiver: p.receiver,
            amount: p.amount,
            denom: p.denom,
            recv_relayers: p.recvRelayers,
            ack_relayers: p.ackRelayers,
            timeout_relayers: p.timeoutRelayers,
            block_level: p.sendTxHash === '',
            async_ack: p.asyncAck,
            ack_written: p.ackWritten,
          })),
        });
      }
      return reply(404, { error: { code: 'not_found', message: `no route ${route}` } });
    } catch (e) {
      if (e instanceof BadRequest) return reply(400, { error: { code: 'bad_request', message: e.message } });
      return reply(500, { error: { code: 'internal', message: (e as Error).message } });
    }
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
