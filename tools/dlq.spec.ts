import { runDlq } from './dlq';

describe('npm run dlq: arguments', () => {
  const run = async (...argv: string[]) => {
    const lines: string[] = [];
    const code = await runDlq(argv, (l) => lines.push(l), { NATS_URL: 'nats://127.0.0.1:1' });
    return { code, text: lines.join('\n') };
  };

  it('refuses what it does not understand with exit code 2, saying why and how to call it, before connecting', async () => {
    expect(await run()).toEqual({ code: 2, text: expect.stringMatching(/^error: name one command: list or replay\nusage:/) });
    expect(await run('purge')).toMatchObject({ code: 2, text: expect.stringContaining("unknown command 'purge'") });
    expect(await run('replay')).toMatchObject({ code: 2, text: expect.stringContaining('replay needs --consumer NAME') });
    expect(await run('list', '--reason', 'a', '--reason', 'b')).toMatchObject({ code: 2, text: expect.stringContaining('list takes one --reason') });
    expect(await run('list', '--dry-run')).toMatchObject({ code: 2, text: expect.stringContaining('--dry-run goes with replay') });
    expect(await run('list', '--colour')).toMatchObject({ code: 2, text: expect.stringContaining("Unknown option '--colour'") });
  });
});
