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
 * The real Hermes CLI: `hermes --json clear packets --chain <src> --port <port> --channel <channel>
 * --packet-sequences <a,b,c>`. With --json Hermes prints one JSON object per line; the last one carries
 * `status` ("success" or "error") and `result`.
 */
export class HermesRelayer implements RelayerPort {
  readonly name = 'hermes';

  constructor(
    private readonly binary: string,
    private readonly options: { configFile?: string; timeoutMs: number },
  ) {}

  args(r: ClearRequest): string[] {
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
    ];
  }

  clear(r: ClearRequest): Promise<ClearResult> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, this.args(r), { timeout: this.options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
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
