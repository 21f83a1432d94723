import { connectComet } from '@cosmjs/tendermint-rpc';
import type { CometVersion } from './chain';
import { SimNetwork } from './network';
import { loadNetwork } from './registry';
import { ChainRpcServer } from './rpc-server';

/**
 * chain-sim's RPC as a real CometBFT client sees it: @cosmjs/tendermint-rpc reads its status, blocks and block
 * results (it speaks 0.37 and 0.38; 0.34's base64 attributes are covered by the ingest parser's fixtures), and the
 * answers a block's height gets are the same whether they come from the text rendered when the block was sealed,
 * from a JSON-RPC batch or from a fresh rendering.
 */
const PORT = 27_657;

describe('chain-sim RPC read by @cosmjs/tendermint-rpc', () => {
  const { chains, paths } = loadNetwork(['cosmoshub', 'osmosis', 'neutron']);
  const versions: CometVersion[] = ['0.38', '0.37', '0.34'];
  const network = new SimNetwork(chains, paths, versions, {
    seed: 5,
    wallets: 20,
    transfersPerBlock: 4,
    shares: { awaiting_recv: 0.1, awaiting_ack: 0.1, timeout_pending: 0, timed_out: 0 },
    relayersPerPath: 2,
    raceProbability: 0.5,
    retainBlocks: 100,
    blockTimeMs: 1_000,
    initialHeight: 1_000,
    initialSequence: 1n,
  });
  const servers = [...network.chains.values()].map((chain, i) => new ChainRpcServer(chain, PORT + 10 * i, '127.0.0.1', () => ({ hash: '', code: 0, log: '' })));

  beforeAll(async () => {
    const start = Date.now() - 10_000;
    for (let i = 0; i < 8; i++) network.tick(new Date(start + i * 1_000));
    for (const s of servers) await s.start();
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it.each([0, 1])('serves blocks and results a CometBFT client decodes (chain %i)', async (i) => {
    const server = servers[i]!;
    const client = await connectComet(`http://127.0.0.1:${server.port}`);
    try {
      const status = await client.status();
      expect(status.nodeInfo.network).toBe(server.chain.chainId);
      const head = status.syncInfo.latestBlockHeight;
      let packetEvents = 0;
      for (let h = server.chain.earliest; h <= head; h++) {
        const [block, results] = await Promise.all([client.block(h), client.blockResults(h)]);
        const sim = server.chain.block(h)!;
        expect(block.block.header.height).toBe(h);
        expect(block.block.txs.map((t) => Buffer.from(t).toString('hex'))).toEqual(sim.txs.map((t) => Buffer.from(t.bytes).toString('hex')));
        expect(results.results).toHaveLength(sim.txs.length);
        for (const r of results.results) packetEvents += r.events.filter((e) => e.type === 'send_packet' || e.type === 'recv_packet').length;
      }
      // Transfers were sent and relayed: the client saw the packet events, with their attributes decoded.
      expect(packetEvents).toBeGreaterThan(0);
    } finally {
      client.disconnect();
    }
  });

  it('answers a height the same from the sealed rendering, a batch and a fresh rendering', async () => {
    for (const server of servers) {
      const chain = server.chain;
      const h = chain.height - 1;
      const url = `http://127.0.0.1:${server.port}`;
      const single = (await (await fetch(`${url}/block_results?height=${h}`)).json()) as { result: unknown };
      const batch = (await (
        await fetch(url, {
          method: 'POST',
          body: JSON.stringify([
            { jsonrpc: '2.0', id: 'a', method: 'block', params: { height: String(h) } },
            { jsonrpc: '2.0', id: 'b', method: 'block_results', params: { height: String(h) } },
            { jsonrpc: '2.0', id: 'c', method: 'block_results', params: { height: String(chain.height + 5) } },
          ]),
        })
      ).json()) as Array<{ id: string; result?: unknown; error?: { data: string } }>;
      const fresh = JSON.parse(JSON.stringify({ block: chain.renderBlock(chain.block(h)!), results: chain.renderBlockResults(chain.block(h)!) }));
      expect(single.result).toEqual(fresh.results);
      expect(batch.map((b) => b.id)).toEqual(['a', 'b', 'c']);
      expect(batch[0]!.result).toEqual(fresh.block);
      expect(batch[1]!.result).toEqual(fresh.results);
      // A height past the head is an error answer inside the batch, as CometBFT gives it.
      expect(batch[2]!.error?.data).toMatch(/must be less than or equal to the current blockchain height/);
    }
  });
});
