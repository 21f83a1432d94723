import { CometRpcClient, HeightsUnavailableError, IbcChainState, IbcNotFoundError, readBlocksAnswer, type RpcClientOptions } from '@unstuck/packets';
import { SimNetwork } from './network';
import { loadNetwork } from './registry';
import { ChainRpcServer, PROFILES } from './rpc-server';

/**
 * packet-ingest's RPC client against chain-sim's mainnet profile, in one process: a pruned public endpoint and an
 * archive endpoint of the same chain, both answering as CometBFT 0.38 does with its default config (batches of
 * at most 10) behind a 429 rate limit.
 */
const PORT = 27_757;

describe('CometRpcClient against chain-sim mainnet endpoints', () => {
  const { chains, paths } = loadNetwork(['cosmoshub', 'osmosis']);
  const network = new SimNetwork(chains, paths, ['0.38', '0.37'], {
    seed: 11,
    wallets: 10,
    transfersPerBlock: 2,
    shares: { awaiting_recv: 0.1, awaiting_ack: 0.1, timeout_pending: 0, timed_out: 0 },
    relayersPerPath: 2,
    raceProbability: 0.3,
    retainBlocks: 100_000,
    blockTimeMs: 1_000,
    initialHeight: 5_000,
    initialSequence: 1n,
    blockLevelShare: { 'cosmoshub-4': 0.2 },
  });
  const hub = network.chains.get('cosmoshub-4')!;
  const send = () => ({ hash: '', code: 0, log: '' });
  const pruned = new ChainRpcServer(hub, PORT, '127.0.0.1', send, { ...PROFILES.mainnet, requestsPerSecond: 0, retainBlocks: 50 }, 'main');
  const archive = new ChainRpcServer(hub, PORT + 1, '127.0.0.1', send, { ...PROFILES.mainnet, requestsPerSecond: 0 }, 'archive');
  const clients: CometRpcClient[] = [];
  const client = (urls: string[], options: Partial<RpcClientOptions> = {}) => {
    const c = new CometRpcClient('cosmoshub-4', urls, { timeoutMs: 2_000, attempts: 3, requestsPerSecond: 0, maxBatchRequests: 40, healthIntervalMs: 60_000, ...options });
    clients.push(c);
    return c;
  };
  const url = (s: ChainRpcServer) => `http://127.0.0.1:${s.port}`;
  const heights = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  beforeAll(async () => {
    const start = Date.now() - 300_000;
    for (let i = 0; i < 220; i++) network.tick(new Date(start + i * 1_000));
    await pruned.start();
    await archive.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    Object.assign(pruned.profile, { requestsPerSecond: 0 });
    Object.assign(archive.profile, { latencyMs: 0 });
    await pruned.start();
    await archive.start();
  });
  afterAll(async () => {
    await pruned.stop();
    await archive.stop();
  });

  it('learns the batch limit from the first refusal and never exceeds it after, reading every height', async () => {
    const c = client([url(archive)]);
    const before = { ...archive.counters };
    const blocks = [];
    for (let h = hub.earliest; h < hub.earliest + 200; h += 20) blocks.push(...readBlocksAnswer(await c.blocksAnswer(heights(h, 20))));
    expect(blocks.map((b) => b.height)).toEqual(heights(hub.earliest, 200));
    expect(archive.counters.batchesRefused - before.batchesRefused).toBe(1);
    expect(archive.counters.largestBatchAfterRefusal).toBe(10);
    expect(c.endpoints[0]!.learnedLimit).toBe(10);
    // The block-level sends are in the answer, as finalize_block_events with mode EndBlock.
    expect(blocks.some((b) => b.blockEvents.some((e) => e.type === 'send_packet'))).toBe(true);
  });

  it('reads the heights the pruned endpoint lost from the archive one, and recent heights from either', async () => {
    const c = client([url(pruned), url(archive)]);
    const old = readBlocksAnswer(await c.blocksAnswer(heights(hub.earliest, 20)));
    expect(old.map((b) => b.height)).toEqual(heights(hub.earliest, 20));
    expect(pruned.earliest).toBeGreaterThan(hub.earliest + 20);
    const recent = readBlocksAnswer(await c.blocksAnswer(heights(hub.height - 19, 20)));
    expect(recent).toHaveLength(20);
    const status = await c.status();
    expect(status).toMatchObject({ chainId: 'cosmoshub-4', latestHeight: hub.height, earliestHeight: hub.earliest, version: '0.38.12' });
  });

  it('reports heights no endpoint has as one gap up to the lowest height any has, and does not ask for them', async () => {
    const c = client([url(pruned)]);
    const requests = pruned.counters.httpRequests;
    const error = await c.blocksAnswer(heights(hub.earliest, 20)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeightsUnavailableError);
    expect(error).toMatchObject({ from: hub.earliest, to: pruned.earliest - 1, reason: 'pruned' });
    // Only /status was asked: its earliest height said the heights are gone.
    expect(pruned.counters.httpRequests - requests).toBe(1);
  });

  it('takes results from another endpoint when one keeps none (discard_abci_responses); a gap of reason no_results when none does', async () => {
    Object.assign(pruned.profile, { discardAbciResponses: true, retainBlocks: 0 });
    // The archive answers slower, so the pruned endpoint is asked first whatever the machine's timing.
    Object.assign(archive.profile, { latencyMs: 40 });
    try {
      const both = client([url(pruned), url(archive)]);
      await both.status();
      // The pruned endpoint is asked first (the faster): its refusal teaches, the archive answers.
      const blocks = readBlocksAnswer(await both.blocksAnswer(heights(hub.height - 30, 10)));
      expect(blocks).toHaveLength(10);
      expect(both.endpoints[0]!.resultsFrom).toBeGreaterThan(hub.height - 30);

      const alone = client([url(pruned)]);
      const error = await alone.blocksAnswer(heights(hub.height - 30, 10)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HeightsUnavailableError);
      expect(error).toMatchObject({ from: hub.height - 30, reason: 'no_results' });
    } finally {
      Object.assign(pruned.profile, { discardAbciResponses: false, retainBlocks: 50 });
    }
  });

  it('moves to the other endpoint when one dies', async () => {
    const c = client([url(pruned), url(archive)]);
    await c.status();
    await pruned.stop();
    const blocks = readBlocksAnswer(await c.blocksAnswer(heights(hub.height - 9, 10)));
    expect(blocks).toHaveLength(10);
    expect(c.describe().find((e) => e.endpoint.endsWith(String(PORT)))).toMatchObject({ usable: false });
  });

  it('waits out a 429 on one endpoint while the other serves, and honours Retry-After when it is the only one', async () => {
    // The archive answers slower, so the client prefers the rate-limited endpoint until it is refused (without
    // this, which endpoint is faster is up to the machine, and the pruned one may never be asked).
    Object.assign(pruned.profile, { requestsPerSecond: 2 });
    Object.assign(archive.profile, { latencyMs: 40 });
    const both = client([url(pruned), url(archive)], { requestsPerSecond: 50 });
    const refusedBefore = pruned.refusedForRate;
    for (let i = 0; i < 10; i++) expect(readBlocksAnswer(await both.blocksAnswer(heights(hub.height - 4, 5)))).toHaveLength(5);
    expect(pruned.refusedForRate).toBeGreaterThan(refusedBefore);

    // Alone, the client waits the Retry-After the node asks (1 s) instead of hammering it.
    const alone = client([url(pruned)], { requestsPerSecond: 50 });
    const refused = pruned.refusedForRate;
    const started = Date.now();
    for (let i = 0; i < 6; i++) expect(readBlocksAnswer(await alone.blocksAnswer(heights(hub.height - 4, 5)))).toHaveLength(5);
    expect(Date.now() - started).toBeGreaterThan(1_000);
    // Each refusal cost a Retry-After of waiting: a handful of refusals, not a loop.
    expect(pruned.refusedForRate - refused).toBeLessThanOrEqual(4);
  });

  it('answers ibc-go’s Channel, ChannelClientState, ClientStatus and NextSequenceReceive queries from its own state', async () => {
    const ibc = new IbcChainState(client([url(archive)]));
    const [key, end] = [...hub.channels].find(([, c]) => c.counterpartyChainId === 'osmosis-1')!;
    const channel = key.split('/')[1]!;
    expect(await ibc.channel('transfer', channel)).toEqual({
      state: 'STATE_OPEN',
      ordering: 'ORDER_UNORDERED',
      counterparty: { port: 'transfer', channel: end.counterpartyChannelId },
      connectionHops: [end.connectionId],
      version: 'ics20-1',
    });
    const clientId = await ibc.channelClientId('transfer', channel);
    expect(clientId).toBe(end.clientId);
    expect(await ibc.clientStatus(clientId)).toBe('Active');
    // ibc-go answers 0 on an UNORDERED channel: it does not use the next sequence there.
    expect(await ibc.nextSequenceReceive('transfer', channel)).toBe(0n);
    // ibc-go answers Unknown for a client it does not have, and NotFound for a channel.
    expect(await ibc.clientStatus('07-tendermint-999999')).toBe('Unknown');
    await expect(ibc.channel('transfer', 'channel-999999')).rejects.toBeInstanceOf(IbcNotFoundError);

    network.setChannelEnd('cosmoshub-4', channel, { state: 'CLOSED', ordering: 'ORDERED', clientStatus: 'Expired' });
    try {
      expect(await ibc.channel('transfer', channel)).toMatchObject({ state: 'STATE_CLOSED', ordering: 'ORDER_ORDERED' });
      expect(await ibc.clientStatus(clientId)).toBe('Expired');
      // The lowest sequence sent to this end and not received, as an ORDERED channel would take next.
      expect(await ibc.nextSequenceReceive('transfer', channel)).toBe(network.nextSequenceRecv('cosmoshub-4', 'transfer', channel));
      expect(await ibc.nextSequenceReceive('transfer', channel)).toBeGreaterThan(0n);
    } finally {
      network.setChannelEnd('cosmoshub-4', channel, { state: 'OPEN', ordering: 'UNORDERED', clientStatus: 'Active' });
    }
  });

  it('pages PacketCommitments as ibc-go does (keys in byte order, next_key), and answers UnreceivedPackets from receipts', async () => {
    const ibc = new IbcChainState(client([url(archive)]));
    const [key, end] = [...hub.channels].find(([, c]) => c.counterpartyChainId === 'osmosis-1')!;
    const channel = key.split('/')[1]!;
    const expected = hub.packetCommitments('transfer', channel).map((c) => c.sequence).sort((a, b) => (a < b ? -1 : 1));
    expect(expected.length).toBeGreaterThan(3);
    const paged = await ibc.packetCommitments('transfer', channel, 3);
    expect(paged).toEqual({ sequences: expected, truncated: false, pages: Math.ceil(expected.length / 3) });
    // As a destination: of the packets osmosis-1 still holds commitments for on the other end, those the hub has
    // no receipt for, in the order asked (what the sim's own state says).
    const fromOsmosis = network.chains.get('osmosis-1')!.packetCommitments('transfer', end.counterpartyChannelId).map((c) => c.sequence);
    expect(fromOsmosis.length).toBeGreaterThan(0);
    expect(await ibc.unreceivedPackets('transfer', channel, fromOsmosis)).toEqual(fromOsmosis.filter((q) => !hub.hasReceipt('transfer', channel, q)));
    await expect(ibc.unreceivedPackets('transfer', channel, [0n])).rejects.toThrow(/packet sequence cannot be 0/);
  });

  it('answers a batch of one request with an object and refuses a batch over the limit with CometBFT’s exact bytes', async () => {
    const post = (body: unknown) => fetch(url(archive), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }).then((r) => r.text());
    const one = await post([{ jsonrpc: '2.0', id: 3, method: 'health', params: {} }]);
    expect(one).toBe('{"jsonrpc":"2.0","id":3,"result":{}}');
    const eleven = Array.from({ length: 11 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'health', params: {} }));
    expect(await post(eleven)).toBe(
      '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"batch request exceeds maximum (10) allowed number of requests"}}',
    );
  });
});
