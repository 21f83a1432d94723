import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SimBlock, SimChain } from './chain';
import { queryIbc } from './ibc-queries';

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: string,
  ) {
    super(message);
  }
}

type Params = Record<string, unknown>;

/** A result already rendered as JSON text. */
class RenderedJson {
  constructor(readonly text: string) {}
}

/**
 * How one RPC endpoint of a chain behaves. `default` is a node configured for a private indexer (no batch limit,
 * no rate limit); `mainnet` is what a public node runs: CometBFT's default config (max_request_batch_size 10,
 * max_subscriptions_per_client 5) behind a rate limit that answers 429 with Retry-After, with pruned history.
 */
export interface EndpointProfile {
  /** CometBFT's `max_request_batch_size`: a batch of more requests gets one -32600 error object (0 = no limit). */
  maxBatch: number;
  /** CometBFT's `max_subscriptions_per_client`. */
  maxSubscriptionsPerClient: number;
  /** A rate limit in front of the node (nginx, Cloudflare): over it, 429 with Retry-After (0 = none). */
  requestsPerSecond: number;
  /** Added to every HTTP answer, as a distant or busy node answers. */
  latencyMs: number;
  /** Blocks this node keeps (pruning): heights below head − retain + 1 are "not available" (0 = everything the chain has). */
  retainBlocks: number;
  /** `tx_index = "null"` in config.toml: /tx and /tx_search answer "transaction indexing is disabled". */
  txIndex: boolean;
  /** `discard_abci_responses = true`: /block_results of any height but the latest answers "could not find results". */
  discardAbciResponses: boolean;
  /**
   * The tx indexer behind the blocks: CometBFT indexes a block's transactions after it commits it (the indexer
   * service), so /tx and /tx_search may not find a transaction of the last blocks yet.
   */
  txIndexLagBlocks: number;
}

export const PROFILES: Record<'default' | 'mainnet', EndpointProfile> = {
  default: { maxBatch: 0, maxSubscriptionsPerClient: 100, requestsPerSecond: 0, latencyMs: 0, retainBlocks: 0, txIndex: true, discardAbciResponses: false, txIndexLagBlocks: 0 },
  mainnet: { maxBatch: 10, maxSubscriptionsPerClient: 5, requestsPerSecond: 20, latencyMs: 0, retainBlocks: 0, txIndex: true, discardAbciResponses: false, txIndexLagBlocks: 0 },
};

/** A token bucket per client address, as a rate-limiting proxy keeps one (a second's worth of burst). */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Requests refused so far (tests and the benchmark read it from GET /chains). */
  refused = 0;

  /** 0 when `client` may go on, else the seconds to wait (Retry-After). */
  take(client: string, perSecond: number): number {
    if (perSecond <= 0) return 0;
    const now = Date.now();
    const b = this.buckets.get(client) ?? { tokens: perSecond, at: now };
    b.tokens = Math.min(perSecond, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(client, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    this.refused += 1;
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }
}

/** CometBFT URI parameters are JSON-ish: height=5, hash=0xABCD, query="tx.height=5". */
function uriParams(search: URLSearchParams): Params {
  const out: Params = {};
  for (const [k, raw] of search) {
    const v = raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    out[k] = v;
  }
  return out;
}

/**
 * CometBFT RPC for one simulated chain: GET URI style and POST JSON-RPC (single and batch), and the websocket
 * `subscribe` to tm.event='NewBlock' / 'NewBlockHeader' / 'Tx'. Stopping it closes the listener and every open
 * connection, like a node whose RPC went down while the chain goes on. A chain may have several endpoints (an
 * archive node and a pruned public one), each with its own profile.
 */
export class ChainRpcServer {
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly subscriptions = new Map<WebSocket, Array<{ id: unknown; query: string }>>();
  private readonly limiter = new RateLimiter();
  readonly profile: EndpointProfile;
  /** Requests answered, and the largest batch received (tests check that no batch exceeded the limit after it was learned). */
  readonly counters = { httpRequests: 0, batchesRefused: 0, largestBatch: 0, largestBatchAfterRefusal: 0 };

  constructor(
    readonly chain: SimChain,
    readonly port: number,
    private readonly host: string,
    private readonly broadcast: (chain: SimChain, txBase64: string) => { hash: string; code: number; log: string },
    profile: Partial<EndpointProfile> = {},
    readonly name = 'main',
  ) {
    this.profile = { ...PROFILES.default, ...profile };
  }

  /** The first height this endpoint serves: the chain's, or above it when the endpoint prunes. */
  get earliest(): number {
    const retain = this.profile.retainBlocks;
    return retain > 0 ? Math.max(this.chain.earliest, this.chain.height - retain + 1) : this.chain.earliest;
  }

  get refusedForRate(): number {
    return this.limiter.refused;
  }

  /**
   * Cancels every subscription as CometBFT does for a client whose buffer filled (experimental_close_on_slow_client
   * or an out-of-capacity pubsub buffer): one -32000 error per subscription, then no more events on it.
   */
  cancelSubscriptions(): number {
    const spelled = this.chain.cometVersion === '0.38' ? 'canceled' : 'cancelled';
    let n = 0;
    for (const [ws, subs] of this.subscriptions) {
      for (const sub of subs) {
        n += 1;
        this.send(ws, {
          jsonrpc: '2.0',
          id: sub.id,
          error: { code: -32000, message: 'Server error', data: `subscription was ${spelled} (reason: internal subscription event buffer is out of capacity)` },
        });
      }
      this.subscriptions.set(ws, []);
    }
    return n;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.onHttp(req, res));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/websocket')) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => this.onWebSocket(ws, req.socket.remoteAddress ?? ''));
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.server = server;
    this.wss = wss;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const ws of this.subscriptions.keys()) ws.terminate();
    this.subscriptions.clear();
    this.wss?.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Pushes a new block to websocket subscribers. */
  publish(block: SimBlock): void {
    for (const [ws, subs] of this.subscriptions) {
      for (const sub of subs) {
        if (/tm\.event\s*=\s*'NewBlockHeader'/.test(sub.query)) {
          this.send(ws, {
            jsonrpc: '2.0',
            id: sub.id,
            result: {
              query: sub.query,
              data: { type: 'tendermint/event/NewBlockHeader', value: { header: this.chain.renderBlock(block).block.header } },
              events: { 'tm.event': ['NewBlockHeader'] },
            },
          });
        } else if (/tm\.event\s*=\s*'NewBlock'/.test(sub.query)) {
          const rendered = this.chain.renderBlock(block);
          this.send(ws, {
            jsonrpc: '2.0',
            id: sub.id,
            result: {
              query: sub.query,
              data: { type: 'tendermint/event/NewBlock', value: { block: rendered.block, block_id: rendered.block_id, result_finalize_block: {} } },
              events: { 'tm.event': ['NewBlock'], 'block.height': [String(block.height)] },
            },
          });
        } else if (/tm\.event\s*=\s*'Tx'/.test(sub.query)) {
          block.txs.forEach((tx, index) =>
            this.send(ws, {
              jsonrpc: '2.0',
              id: sub.id,
              result: {
                query: sub.query,
                data: {
                  type: 'tendermint/event/Tx',
                  value: { TxResult: { height: String(block.height), index, tx: Buffer.from(tx.bytes).toString('base64'), result: this.chain.renderTxResult(tx) } },
                },
                events: { 'tm.event': ['Tx'], 'tx.hash': [tx.hash], 'tx.height': [String(block.height)] },
              },
            }),
          );
        }
      }
    }
  }

  private send(ws: WebSocket, message: unknown): void {
    if (ws.readyState === ws.OPEN) ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  private onWebSocket(ws: WebSocket, remote: string): void {
    remotes.set(ws, remote);
    this.subscriptions.set(ws, []);
    ws.on('close', () => this.subscriptions.delete(ws));
    ws.on('message', (data) => {
      let req: { id?: unknown; method?: string; params?: Params };
      try {
        req = JSON.parse(String(data));
      } catch {
        return this.send(ws, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error', data: 'invalid JSON' } });
      }
      if (req.method === 'subscribe') {
        const query = String(req.params?.query ?? '');
        // CometBFT counts a client's subscriptions by its remote address, across its connections.
        const held = [...this.subscriptions.entries()].filter(([w]) => addressOf(w) === addressOf(ws)).reduce((n, [, subs]) => n + subs.length, 0);
        if (held >= this.profile.maxSubscriptionsPerClient) {
          return this.send(ws, {
            jsonrpc: '2.0',
            id: req.id,
            error: { code: -32603, message: 'Internal error', data: `max_subscriptions_per_client ${this.profile.maxSubscriptionsPerClient} reached` },
          });
        }
        this.subscriptions.get(ws)?.push({ id: req.id, query });
        return this.send(ws, { jsonrpc: '2.0', id: req.id, result: {} });
      }
      if (req.method === 'unsubscribe_all') {
        this.subscriptions.set(ws, []);
        return this.send(ws, { jsonrpc: '2.0', id: req.id, result: {} });
      }
      this.send(ws, this.dispatch(req.id ?? -1, req.method ?? '', req.params ?? {}));
    });
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Browsers may call it (a wallet in the dashboard broadcasting a payment), as a node with cors_allowed_origins = ["*"].
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' });
      res.end();
      return;
    }
    this.counters.httpRequests += 1;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.profile.latencyMs > 0) await new Promise((r) => setTimeout(r, this.profile.latencyMs));
    if (!this.server) return void res.destroy();
    const wait = this.limiter.take(req.socket.remoteAddress ?? '', this.profile.requestsPerSecond);
    if (wait > 0) {
      // What a rate-limiting nginx in front of a public node answers (limit_req_status 429), with the wait it asks for.
      const html = '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
      res.writeHead(429, { 'content-type': 'text/html', 'retry-after': String(wait), 'content-length': Buffer.byteLength(html) });
      return void res.end(html);
    }
    let text: string;
    if (req.method === 'POST') {
      text = this.answerPost(Buffer.concat(chunks).toString('utf8'));
    } else {
      text = this.dispatch(-1, url.pathname.replace(/^\//, ''), uriParams(url.searchParams));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-server-time': String(Math.floor(Date.now() / 1000)) });
    res.end(text);
  }

  /**
   * A JSON-RPC POST as CometBFT's server answers it (rpc/jsonrpc/server, v0.38.8+): a batch over
   * max_request_batch_size gets one -32600 error object with no id; requests without an id (notifications) get no
   * answer; an answer of one response is written as an object, not a one-element array, even for a batch.
   */
  private answerPost(body: string): string {
    type Req = { id?: unknown; method?: string; params?: Params };
    let parsed: Req | Req[];
    try {
      parsed = JSON.parse(body) as Req | Req[];
    } catch (e) {
      return JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error. Invalid JSON', data: `error unmarshaling request: ${(e as Error).message}` } });
    }
    const requests = Array.isArray(parsed) ? parsed : [parsed];
    if (Array.isArray(parsed)) {
      this.counters.largestBatch = Math.max(this.counters.largestBatch, parsed.length);
      if (this.counters.batchesRefused > 0) this.counters.largestBatchAfterRefusal = Math.max(this.counters.largestBatchAfterRefusal, parsed.length);
      if (this.profile.maxBatch > 0 && parsed.length > this.profile.maxBatch) {
        this.counters.batchesRefused += 1;
        return JSON.stringify({
          jsonrpc: '2.0',
          error: { code: -32600, message: 'Invalid Request', data: `batch request exceeds maximum (${this.profile.maxBatch}) allowed number of requests` },
        });
      }
    }
    const answers = requests.filter((r) => r.id !== undefined && r.id !== null).map((r) => this.dispatch(r.id, r.method ?? '', r.params ?? {}));
    return answers.length === 1 ? answers[0]! : `[${answers.join(',')}]`;
  }

  /** One JSON-RPC answer as JSON text (a block's answer is spliced in as rendered once, not serialized again). */
  private dispatch(id: unknown, method: string, params: Params): string {
    try {
      const result = this.call(method, params);
      const text = result instanceof RenderedJson ? result.text : JSON.stringify(result ?? null);
      return `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"result":${text}}`;
    } catch (e) {
      if (e instanceof RpcError) return JSON.stringify({ jsonrpc: '2.0', id, error: { code: e.code, message: e.message, data: e.data } });
      return JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: 'Internal error', data: (e as Error).message } });
    }
  }

  private height(params: Params): number {
    const raw = params.height;
    if (raw === undefined || raw === null || raw === '' || raw === 0 || raw === '0') return this.chain.height;
    const h = Number(raw);
    if (!Number.isSafeInteger(h) || h < 0) throw new RpcError(-32602, 'Invalid params', `invalid height ${String(raw)}`);
    if (h > this.chain.height) {
      throw new RpcError(-32603, 'Internal error', `height ${h} must be less than or equal to the current blockchain height ${this.chain.height}`);
    }
    if (h < this.earliest) throw new RpcError(-32603, 'Internal error', `height ${h} is not available, lowest height is ${this.earliest}`);
    return h;
  }

  private call(method: string, params: Params): unknown {
    switch (method) {
      case 'health':
        return {};
      case 'status':
        return this.chain.renderStatus({ earliestHeight: this.earliest, txIndex: this.profile.txIndex, moniker: `chain-sim-${this.chain.chainId}-${this.name}` });
      case 'abci_info':
        return {
          response: {
            data: this.chain.chainId,
            version: '0.50.0',
            last_block_height: String(this.chain.height),
            last_block_app_hash: Buffer.from(this.chain.latest()?.hash ?? '', 'hex').toString('base64'),
          },
        };
      case 'block':
        return new RenderedJson(this.chain.renderedJson('block', this.chain.block(this.height(params))!));
      case 'block_results': {
        const h = this.height(params);
        if (this.profile.discardAbciResponses && h < this.chain.height) throw new RpcError(-32603, 'Internal error', `could not find results for height #${h}`);
        return new RenderedJson(this.chain.renderedJson('block_results', this.chain.block(h)!));
      }
      case 'tx': {
        if (!this.profile.txIndex) throw new RpcError(-32603, 'Internal error', 'transaction indexing is disabled');
        const hash = String(params.hash ?? '').replace(/^0x/i, '');
        const raw = /^[0-9A-Fa-f]{64}$/.test(hash) ? hash : Buffer.from(hash, 'base64').toString('hex');
        const found = this.chain.findTx(raw);
        if (!found || found.block.height < this.earliest || found.block.height > this.chain.height - this.profile.txIndexLagBlocks) throw new RpcError(-32603, 'Internal error', `tx (${raw.toUpperCase()}) not found`);
        return this.chain.renderTx(found);
      }
      case 'tx_search': {
        if (!this.profile.txIndex) throw new RpcError(-32603, 'Internal error', 'transaction indexing is disabled');
        const page = Math.max(1, Number(params.page ?? 1) || 1);
        const perPage = Math.min(100, Math.max(1, Number(params.per_page ?? 30) || 30));
        return this.chain.txSearch(String(params.query ?? ''), page, perPage, String(params.order_by ?? 'asc') === 'desc');
      }
      case 'abci_query': {
        const data = String(params.data ?? '');
        if (!/^([0-9a-fA-F]{2})*$/.test(data)) throw new RpcError(-32602, 'Invalid params', 'data must be hex');
        const path = String(params.path ?? '');
        const answer = queryIbc(this.chain, path, Buffer.from(data, 'hex')) ?? this.chain.accounts.query(path, Buffer.from(data, 'hex'));
        return {
          response: {
            code: answer.code,
            log: answer.log,
            info: '',
            index: '0',
            key: null,
            value: Buffer.from(answer.value).toString('base64'),
            proofOps: null,
            height: String(this.chain.height),
            codespace: answer.code === 0 ? '' : 'sdk',
          },
        };
      }
      case 'broadcast_tx_sync': {
        const r = this.broadcast(this.chain, String(params.tx ?? ''));
        // CometBFT's mempool cache: the same bytes twice are refused before any check.
        if (r.code === -1) throw new RpcError(-32603, 'Internal error', 'tx already exists in cache');
        return { code: r.code, data: '', log: r.log, codespace: r.code === 0 ? '' : 'sdk', hash: r.hash };
      }
      default:
        throw new RpcError(-32601, 'Method not found', method);
    }
  }
}

/** The client address each websocket connection came from (CometBFT's subscription limit is per address). */
const remotes = new WeakMap<WebSocket, string>();
const addressOf = (ws: WebSocket) => remotes.get(ws) ?? '';
