import { nobleSendPacketBase64, osmosisSendPacket } from '../parsing/__fixtures__/mainnet';
import { batchAnswer, bytes, directory } from './__fixtures__/batch-answer';
import { BlockDecoder, decodeBatch } from './block-decoder';
import { RpcAnswerError, utf8, type BlocksAnswer } from './blocks-answer';

describe('decodeBatch', () => {
  it('decodes every height of a batch answer, matched by JSON-RPC id whatever the answer order', async () => {
    const batch = await decodeBatch({ chainId: 'osmosis-1', answer: batchAnswer([100, 101], [osmosisSendPacket], true), base64: false }, directory.resolve);
    expect(batch.blocks).toEqual([
      { height: 100, time: '2024-11-01T12:00:00.5Z' },
      { height: 101, time: '2024-11-01T12:00:01.5Z' },
    ]);
    expect(batch.problems).toEqual([]);
    expect(batch.events.map((e) => [e.event, (e.payload as { height: string }).height])).toEqual([
      ['packet.sent', '100'],
      ['packet.sent', '101'],
    ]);
  });

  it('reads the answer as UTF-8: a memo in any script arrives intact', async () => {
    const memo = 'gm ☀️ café 你好';
    const data = JSON.stringify({ denom: 'uosmo', amount: '1', sender: 'osmo1a', receiver: 'cosmos1b', memo });
    const withMemo = {
      ...osmosisSendPacket,
      attributes: osmosisSendPacket.attributes!.filter((a) => a.key !== 'packet_data_hex').map((a) => (a.key === 'packet_data' ? { ...a, value: data } : a)),
    };
    const batch = await decodeBatch({ chainId: 'osmosis-1', answer: batchAnswer([100], [withMemo]), base64: false }, directory.resolve);
    expect(batch.problems).toEqual([]);
    expect(batch.events[0]!.payload).toMatchObject({ transfer: { memo } });
  });

  it('detects base64 (CometBFT 0.34) attributes when the encoding is not configured, and reports it', async () => {
    const batch = await decodeBatch({ chainId: 'noble-1', answer: batchAnswer([5], [nobleSendPacketBase64]), base64: undefined }, directory.resolve);
    expect(batch.base64).toBe(true);
    expect(batch.events[0]!.payload).toMatchObject({ packet: { src_chain_id: 'noble-1', sequence: '15598' }, dst_chain_id: 'pacific-1' });
  });

  it('rejects answers it cannot use with a retryable RpcAnswerError naming the problem', async () => {
    const decode = (answer: BlocksAnswer) => decodeBatch({ chainId: 'osmosis-1', answer, base64: false }, directory.resolve);
    const good = batchAnswer([100], [osmosisSendPacket]);
    const mismatched = JSON.parse(utf8(good.bodies[0]!)) as Array<{ result: { block?: { data: { txs: string[] } } } }>;
    mismatched[0]!.result.block!.data.txs = [];
    await expect(decode({ ...good, bodies: [bytes(JSON.stringify(mismatched))] })).rejects.toMatchObject({
      name: 'RpcAnswerError',
      retryable: true,
      message: expect.stringContaining('inconsistent answer from http://node:26657 for height 100: 0 txs, 1 results'),
    });
    await expect(decode({ ...good, bodies: [bytes('<html>502</html>')] })).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('invalid JSON') });
    await expect(decode({ ...good, bodies: [bytes(JSON.stringify(mismatched.slice(1)))] })).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('no answer') });
    const pruned = [{ jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'Internal error', data: 'height 100 is not available, lowest height is 2000' } }];
    const error = await decode({ ...good, bodies: [bytes(JSON.stringify(pruned))] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcAnswerError);
    expect(error).toMatchObject({ method: 'block', retryable: false });
  });

  it('decodes on the main thread when the decoder has no threads', async () => {
    const decoder = new BlockDecoder(0, directory);
    const task = { chainId: 'osmosis-1', answer: batchAnswer([100], [osmosisSendPacket]), base64: false };
    expect(await decoder.decode(task)).toEqual(await decodeBatch(task, directory.resolve));
    await decoder.close();
  });
});
