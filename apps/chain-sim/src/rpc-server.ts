import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SimBlock, SimChain } from './chain';

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
 * `subscribe` to tm.event='NewBlock' / 'Tx'. Stopping it closes the listener and every open connection, like a
 * node whose RPC went down while the chain goes on.
 */
export class ChainRpcServer {
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly subscriptions = new Map<WebSocket, Array<{ id: unknown; query: string }>>();

  constructor(
    readonly chain: SimChain,
    readonly port: number,
    private readonly host: string,
    private readonly broadcast: (chain: SimChain, txBase64: string) => { hash: string; code: number; log: string },
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.onHttp(req, res));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/websocket')) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => this.onWebSocket(ws));
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
        if (/tm\.event\s*=\s*'NewBlock'/.test(sub.query)) {
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

  private onWebSocket(ws: WebSocket): void {
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
    let text: string;
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown; method?: string; params?: Params } | Array<{ id?: unknown; method?: string; params?: Params }>;
        text = Array.isArray(parsed)
          ? `[${parsed.map((r) => this.dispatch(r.id ?? -1, r.method ?? '', r.params ?? {})).join(',')}]`
          : this.dispatch(parsed.id ?? -1, parsed.method ?? '', parsed.params ?? {});
      } catch {
        text = JSON.stringify({ jsonrpc: '2.0', id: -1, error: { code: -32700, message: 'Parse error. Invalid JSON', data: '' } });
      }
    } else {
      text = this.dispatch(-1, url.pathname.replace(/^\//, ''), uriParams(url.searchParams));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
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
    if (h < this.chain.earliest) throw new RpcError(-32603, 'Internal error', `height ${h} is not available, lowest height is ${this.chain.earliest}`);
    return h;
  }

  private call(method: string, params: Params): unknown {
    switch (method) {
      case 'health':
        return {};
      case 'status':
        return this.chain.renderStatus();
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
      case 'block_results':
        return new RenderedJson(this.chain.renderedJson('block_results', this.chain.block(this.height(params))!));
      case 'tx': {
        const hash = String(params.hash ?? '').replace(/^0x/i, '');
        const raw = /^[0-9A-Fa-f]{64}$/.test(hash) ? hash : Buffer.from(hash, 'base64').toString('hex');
        const found = this.chain.findTx(raw);
        if (!found) throw new RpcError(-32603, 'Internal error', `tx (${raw.toUpperCase()}) not found`);
        return this.chain.renderTx(found);
      }
      case 'tx_search': {
        const page = Math.max(1, Number(params.page ?? 1) || 1);
        const perPage = Math.min(100, Math.max(1, Number(params.per_page ?? 30) || 30));
        return this.chain.txSearch(String(params.query ?? ''), page, perPage, String(params.order_by ?? 'asc') === 'desc');
      }
      case 'abci_query': {
        const data = String(params.data ?? '');
        if (!/^([0-9a-fA-F]{2})*$/.test(data)) throw new RpcError(-32602, 'Invalid params', 'data must be hex');
        const answer = this.chain.accounts.query(String(params.path ?? ''), Buffer.from(data, 'hex'));
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
