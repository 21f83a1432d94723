import { execFile } from 'node:child_process';

/** One channel's packets to clear, identified on their source chain. */
export interface ClearRequest {
  srcChainId: string;
  srcPort: string;
  srcChannel: string;
  sequences: readonly string[];
}

export interface ClearResult {
  /** Transactions the relayer reported (not all relayers report them; ingest sees the relays either way). */
  txHashes: string[];
}

/** A relayer failure worth retrying (a timeout, a node briefly unreachable) or not (bad configuration). */
export class RelayerError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'RelayerError';
  }
}

/**
 * How the clearing service gets packets relayed. Returning means the relayer submitted what it could; whether the
 * packets are cleared is decided by what ingest then sees on chain, never by this answer.
 */
export interface RelayerPort {
  readonly name: string;
  clear(request: ClearRequest): Promise<ClearResult>;
}

/**
 * Signing keys lent one run at a time: two Hermes runs signing with one key at once race for its account sequence
 * and one of them fails. With no key named, the config's own key is the only one, and runs take turns.
 */
export class KeyPool {
  private readonly free: Array<string | undefined>;
  private readonly waiting: Array<(key: string | undefined) => void> = [];

  constructor(keys: readonly string[]) {
    this.free = keys.length ? [...keys] : [undefined];
  }

  /** Runs `fn` with a key no other run holds meanwhile. */
  async with<T>(fn: (key: string | undefined) => Promise<T>): Promise<T> {
    const key = this.free.length ? this.free.shift() : await new Promise<string | undefined>((resolve) => this.waiting.push(resolve));
    try {
      return await fn(key);
    } finally {
      const next = this.waiting.shift();
      if (next) next(key);
      else this.free.push(key);
    }
  }
}

/**
 * The real Hermes CLI: `hermes --json clear packets --chain <src> --port <port> --channel <channel>
 * --packet-sequences <a,b,c> [--key-name K --counterparty-key-name K]`. With --json Hermes prints one JSON object
 * per line; the last one carries `status` ("success" or "error") and `result`. A run holds one signing key of the
 * pool (HERMES_KEYS) for its duration: at most one run per key at a time. Its "success" is not proof that anything
 * was relayed: the clearing service counts a packet cleared only once ingest sees it on chain.
 */
export class HermesRelayer implements RelayerPort {
  readonly name = 'hermes';
  private readonly keys: KeyPool;

  constructor(
    private readonly binary: string,
    private readonly options: { configFile?: string; timeoutMs: number; keys?: readonly string[] },
  ) {
    this.keys = new KeyPool(options.keys ?? []);
  }

  args(r: ClearRequest, key?: string): string[] {
    return [
      ...(this.options.configFile ? ['--config', this.options.configFile] : []),
      '--json',
      'clear',
      'packets',
      '--chain',
      r.srcChainId,
      '--port',
      r.srcPort,
      '--channel',
      r.srcChannel,
      '--packet-sequences',
      r.sequences.join(','),
      ...(key ? ['--key-name', key, '--counterparty-key-name', key] : []),
    ];
  }

  clear(r: ClearRequest): Promise<ClearResult> {
    return this.keys.with((key) => this.run(r, key));
  }

  private run(r: ClearRequest, key: string | undefined): Promise<ClearResult> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, this.args(r, key), { timeout: this.options.timeoutMs, maxBuffer: 16 * 1024 * 1024, env: hermesEnv() }, (error, stdout, stderr) => {
        const last = lastJson(stdout);
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(new RelayerError(`hermes binary ${this.binary} not found`, false));
        }
        if (error && error.killed) return reject(new RelayerError(`hermes timed out after ${this.options.timeoutMs} ms`, true));
        if (!last || last.status !== 'success') {
          const detail = last?.result !== undefined ? JSON.stringify(last.result) : (stderr || stdout).trim().slice(-500) || String(error?.message);
          return reject(new RelayerError(`hermes clear packets failed: ${detail}`, true));
        }
        resolve({ txHashes: collectTxHashes(last.result) });
      });
    });
  }
}

/**
 * What a Hermes run sees of the environment: what it needs to find its binary, keyring and config (PATH, HOME,
 * Hermes' and Rust's own variables, proxies and certificates), never the service's secrets (the hot-wallet mnemonic,
 * database URLs, the internal secret).
 */
export function hermesEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keep = /^(PATH|HOME|USER|LANG|LC_[A-Z]+|TZ|TMPDIR|SSL_CERT_FILE|SSL_CERT_DIR|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy|RUST_LOG|RUST_BACKTRACE|HERMES_[A-Z_]+)$/;
  return Object.fromEntries(Object.entries(from).filter(([k]) => keep.test(k) && k !== 'HERMES_KEYS'));
}

function lastJson(stdout: string): { status?: string; result?: unknown } | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const v = JSON.parse(lines[i]!) as { status?: string; result?: unknown };
      if (v && typeof v === 'object') return v;
    } catch {
      // log lines between the JSON ones
    }
  }
  return undefined;
}

/** Hermes nests tx hashes in its result objects (`tx_hash`, `hash`); any 64-hex string under those keys. */
function collectTxHashes(result: unknown, out = new Set<string>()): string[] {
  if (Array.isArray(result)) result.forEach((r) => collectTxHashes(r, out));
  else if (result && typeof result === 'object') {
    for (const [k, v] of Object.entries(result)) {
      if ((k === 'tx_hash' || k === 'hash') && typeof v === 'string' && /^[0-9A-Fa-f]{64}$/.test(v)) out.add(v.toUpperCase());
      else collectTxHashes(v, out);
    }
  }
  return [...out];
}

/** chain-sim's relay API (`POST /relay`): what a relayer would do on the simulated chains. */
export class SimRelayer implements RelayerPort {
  readonly name = 'sim';

  constructor(
    private readonly adminUrl: string,
    private readonly relayerAddress: string,
    private readonly timeoutMs: number,
  ) {}

  async clear(r: ClearRequest): Promise<ClearResult> {
    let res: Response;
    try {
      res = await fetch(`${this.adminUrl}/relay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ src_chain_id: r.srcChainId, src_channel: r.srcChannel, sequences: r.sequences, relayer: this.relayerAddress }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new RelayerError(`chain-sim relay API unreachable: ${(e as Error).message}`, true);
    }
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
    if (!res.ok) throw new RelayerError(`chain-sim refused the relay: ${body.error?.message ?? res.status}`, res.status >= 500);
    // chain-sim puts the relay transactions in its next block; ingest reports them.
    return { txHashes: [] };
  }
}
