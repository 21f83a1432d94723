import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HermesRelayer, RelayerError } from './relayer';

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
});
