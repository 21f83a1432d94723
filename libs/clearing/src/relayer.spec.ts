import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hermesEnv, HermesRelayer, KeyPool, RelayerError } from './relayer';

/** A fake `hermes` that records its arguments and answers like Hermes does with --json. */
function fakeHermes(answer: string, exitCode = 0): { bin: string; argsFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-hermes-'));
  const argsFile = join(dir, 'args.json');
  const bin = join(dir, 'hermes');
  writeFileSync(
    bin,
    `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify(process.argv.slice(2)));\n` +
      `process.stdout.write(${JSON.stringify(answer)});\nprocess.exit(${exitCode});\n`,
  );
  chmodSync(bin, 0o755);
  return { bin, argsFile };
}

const request = { srcChainId: 'cosmoshub-4', srcPort: 'transfer', srcChannel: 'channel-141', sequences: ['7', '9'] };

describe('HermesRelayer', () => {
  it('runs `hermes --json clear packets` with the chain, port, channel and sequences, and reads the tx hashes', async () => {
    const hash = 'ab'.repeat(32);
    const { bin, argsFile } = fakeHermes(
      `2026-11-21T10:00:00Z INFO starting\n${JSON.stringify({ status: 'success', result: [{ SendPacket: { tx_hash: hash } }, { event: { hash: 'short' } }] })}\n`,
    );
    const result = await new HermesRelayer(bin, { configFile: '/etc/hermes/config.toml', timeoutMs: 5_000 }).clear(request);
    expect(JSON.parse(readFileSync(argsFile, 'utf8'))).toEqual([
      '--config', '/etc/hermes/config.toml', '--json', 'clear', 'packets',
      '--chain', 'cosmoshub-4', '--port', 'transfer', '--channel', 'channel-141', '--packet-sequences', '7,9',
    ]);
    expect(result.txHashes).toEqual([hash.toUpperCase()]);
  });

  it('turns an error status into a transient RelayerError carrying Hermes\' reason', async () => {
    const { bin } = fakeHermes(`${JSON.stringify({ status: 'error', result: 'RPC error: connection refused' })}\n`, 1);
    const failure = new HermesRelayer(bin, { timeoutMs: 5_000 }).clear(request);
    await expect(failure).rejects.toBeInstanceOf(RelayerError);
    await expect(failure).rejects.toMatchObject({ transient: true, message: expect.stringContaining('connection refused') });
  });

  it('reports a missing binary as a permanent failure', async () => {
    await expect(new HermesRelayer('/nonexistent/hermes', { timeoutMs: 5_000 }).clear(request)).rejects.toMatchObject({ transient: false, message: expect.stringContaining('not found') });
  });

  it('passes the key it holds to hermes, for both chains', async () => {
    const { bin, argsFile } = fakeHermes(`${JSON.stringify({ status: 'success', result: [] })}\n`);
    await new HermesRelayer(bin, { timeoutMs: 5_000, keys: ['relayer-1'] }).clear(request);
    expect(JSON.parse(readFileSync(argsFile, 'utf8'))).toEqual(expect.arrayContaining(['--key-name', 'relayer-1', '--counterparty-key-name', 'relayer-1']));
  });
});

describe('hermesEnv', () => {
  it('gives Hermes what it needs to run and none of the service\'s secrets', () => {
    const env = hermesEnv({
      PATH: '/usr/bin',
      HOME: '/home/u',
      RUST_LOG: 'info',
      HERMES_CONFIG: '/etc/hermes.toml',
      HOT_WALLET_MNEMONIC: 'twelve words',
      DATABASE_URL: 'postgres://x',
      INTERNAL_SERVICE_SECRET: 's',
      GATEWAY_SECRET: 'g',
      REDIS_URL: 'redis://x',
    });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/u', RUST_LOG: 'info', HERMES_CONFIG: '/etc/hermes.toml' });
  });

  it('is what the hermes process actually gets', async () => {
    process.env.HOT_WALLET_MNEMONIC = 'must not travel';
    try {
      const dir = mkdtempSync(join(tmpdir(), 'fake-hermes-env-'));
      const envFile = join(dir, 'env.json');
      const bin = join(dir, 'hermes');
      writeFileSync(bin, `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(Object.keys(process.env)));\nprocess.stdout.write('{"status":"success","result":[]}\\n');\n`);
      chmodSync(bin, 0o755);
      await new HermesRelayer(bin, { timeoutMs: 5_000 }).clear(request);
      const keys = JSON.parse(readFileSync(envFile, 'utf8')) as string[];
      expect(keys).toContain('PATH');
      expect(keys).not.toContain('HOT_WALLET_MNEMONIC');
    } finally {
      delete process.env.HOT_WALLET_MNEMONIC;
    }
  });
});

describe('KeyPool', () => {
  /** Runs `n` jobs of `ms` each at once and records, per key, the most runs that held it at the same time. */
  async function overlap(pool: KeyPool, n: number, ms: number) {
    const holding = new Map<string, number>();
    const most = new Map<string, number>();
    let concurrent = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: n }, () =>
        pool.with(async (key) => {
          const k = key ?? '(config)';
          holding.set(k, (holding.get(k) ?? 0) + 1);
          most.set(k, Math.max(most.get(k) ?? 0, holding.get(k)!));
          peak = Math.max(peak, ++concurrent);
          await new Promise((r) => setTimeout(r, ms));
          concurrent -= 1;
          holding.set(k, holding.get(k)! - 1);
        }),
      ),
    );
    return { most, peak };
  }

  it('never lends one key to two runs at once; runs in parallel up to the number of keys', async () => {
    const { most, peak } = await overlap(new KeyPool(['a', 'b', 'c']), 12, 20);
    expect([...most.values()].every((n) => n === 1)).toBe(true);
    expect(peak).toBe(3);
  });

  it('with no key named, runs take turns on the config key', async () => {
    const { most, peak } = await overlap(new KeyPool([]), 5, 10);
    expect(most.get('(config)')).toBe(1);
    expect(peak).toBe(1);
  });

  it('gives the key back when a run fails', async () => {
    const pool = new KeyPool(['only']);
    await expect(pool.with(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pool.with(async (k) => k)).toBe('only');
  });
});
