import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { loadEnv } from '@unstuck/config';
import { DEAD_LETTER_HEADERS, STREAMS, deadLetterSubject, subjectFor } from '@unstuck/contracts';
import { JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import { REPO_ROOT, packetSentFixture, uniqueSuffix } from '@unstuck/testing';
import { runDlq } from './dlq';

const run = async (...argv: string[]) => {
  const lines: string[] = [];
  const code = await runDlq(argv, (l) => lines.push(l), {});
  return { code, text: lines.join('\n') };
};

describe('npm run dlq (real nats-server)', () => {
  const connection = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'dlq-cli-test');
  afterAll(() => connection.close());

  it("lists a consumer's dead letters, replays them (a dry run first), and the built command answers the same", async () => {
    const consumer = `cli-${uniqueSuffix()}`;
    const event = packetSentFixture(`cli-${uniqueSuffix()}`, 5);
    const original = subjectFor('packet.sent', event);
    // A dead letter as a consumer writes one (DurableConsumer's own are covered by the messaging tests).
    const h = natsHeaders();
    h.set(DEAD_LETTER_HEADERS.reason, 'unavailable');
    h.set(DEAD_LETTER_HEADERS.detail, 'connect ECONNREFUSED 127.0.0.1:55432');
    h.set(DEAD_LETTER_HEADERS.originalSubject, original);
    h.set(DEAD_LETTER_HEADERS.stream, STREAMS.PACKETS.name);
    h.set(DEAD_LETTER_HEADERS.streamSequence, '1');
    h.set(DEAD_LETTER_HEADERS.deliveries, '60');
    h.set(DEAD_LETTER_HEADERS.consumer, consumer);
    const { js } = await connection.get();
    const { seq } = await js.publish(deadLetterSubject(STREAMS.PACKETS.name, consumer), JSON.stringify(event), { headers: h });

    const listed = await run('list', '--consumer', consumer);
    expect(listed.code).toBe(0);
    expect(listed.text).toContain(`${seq}`);
    expect(listed.text).toMatch(new RegExp(`${consumer}  unavailable  60×  ${original.replace(/\./g, '\\.')}  connect ECONNREFUSED`));
    expect(listed.text).toContain('1 dead letters');

    // The built command, as `npm run dlq` runs it.
    const built = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'dist', 'tools', 'dlq.js'), 'list', '--consumer', consumer], { cwd: REPO_ROOT });
    expect(built.stdout).toContain('1 dead letters');

    expect((await run('replay', '--consumer', consumer, '--dry-run')).text).toContain('1 would be replayed, 0 left');
    expect((await run('list', '--consumer', consumer)).text).toContain('1 dead letters');
    expect((await run('replay', '--consumer', consumer)).text).toContain('1 replayed, 0 left');
    expect((await run('list', '--consumer', consumer)).text).toContain('0 dead letters');
    const { jsm } = await connection.get();
    const stored = await jsm.streams.getMessage(STREAMS.PACKETS.name, { last_by_subj: original });
    expect(JSON.parse(new TextDecoder().decode(stored!.data))).toEqual(event);
  });
});
