import { join } from 'node:path';
import { REPO_ROOT } from '@unstuck/testing';
import { nobleSendPacketBase64, osmosisSendPacket } from '../parsing/__fixtures__/mainnet';
import { BlockDecoder, decodeBatch } from './block-decoder';
import { batchAnswer, bytes, directory } from './__fixtures__/batch-answer';

// The threads run the compiled worker (npm test builds before it runs the integration tests), as packet-ingest does.
const WORKER = join(REPO_ROOT, 'dist', 'libs', 'packets', 'src', 'ingest', 'block-decoder.worker.js');

describe('BlockDecoder threads', () => {
  const decoder = new BlockDecoder(2, directory, WORKER);
  afterAll(() => decoder.close());

  it('decode batches on worker threads exactly as on the main thread, with the counterparties of the main thread', async () => {
    const tasks = () => [
      { chainId: 'osmosis-1', answer: batchAnswer([100, 101, 102], [osmosisSendPacket]), base64: false },
      { chainId: 'noble-1', answer: batchAnswer([7], [nobleSendPacketBase64]), base64: undefined },
    ];
    const sent = tasks();
    const threaded = await Promise.all(sent.map((t) => decoder.decode(t)));
    expect(threaded).toEqual(await Promise.all(tasks().map((t) => decodeBatch(t, directory.resolve))));
    expect(threaded[1]!.events[0]!.payload).toMatchObject({ dst_chain_id: 'pacific-1' });
    // The answers' bytes were moved to the threads, not copied: the main thread's buffers are now empty.
    expect(sent.map((t) => t.answer.bodies[0]!.byteLength)).toEqual([0, 0]);
  });

  it('pass a bad answer back as an error with its message', async () => {
    const answer = { ...batchAnswer([100], [osmosisSendPacket]), bodies: [bytes('not json')] };
    await expect(decoder.decode({ chainId: 'osmosis-1', answer, base64: false })).rejects.toThrow(/invalid JSON from http:\/\/node:26657/);
  });
});
