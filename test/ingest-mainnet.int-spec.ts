import { loadEnv } from '@unstuck/config';
import { STREAMS } from '@unstuck/contracts';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { JetStreamConnection, natsEnvShape } from '@unstuck/messaging';
import { ChainSimAdmin, packetDifferences, startBuiltApp, sumSamples, waitFor, type ServiceProcess, type TruthPacket } from '@unstuck/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * packet-ingest with its default settings against chain-sim's mainnet profile (docs/chain-sim.md): cosmoshub-4 is
 * served by a pruned public endpoint and an archive endpoint, both as CometBFT 0.38 answers with its default config
 * (batches of at most 10 requests, 5 subscriptions per client) behind a rate limit of 20 requests/s that answers
 * 429 with Retry-After, and 10 % of its transfers are sent at the block level. Ingest starts at height 1, below
 * every endpoint's earliest height, with a 200-block backlog.
 */
const ADMIN_PORT = 16_700;
const RPC_BASE = 16_757;
const INGEST_PORT = 23_212;
const HUB = { chain_id: 'cosmoshub-4', main: RPC_BASE, archive: RPC_BASE + 1 };
const CHAINS = ['cosmoshub-4', 'osmosis-1', 'neutron-1'];
const BACKLOG_BLOCKS = 200;
const RETAIN = 60;
type Truth = TruthPacket & { block_level: boolean };

describe('packet-ingest against public-node behaviour (chain-sim mainnet profile)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const nats = new JetStreamConnection(loadEnv(natsEnvShape, {}), 'ingest-mainnet-test');
  const sim = new ChainSimAdmin(`http://127.0.0.1:${ADMIN_PORT}`);
  let simProcess: ServiceProcess;
  let ingest: ServiceProcess;
  let sentBefore = 0;
  /** Where an earlier run of this file left cosmoshub-4's cursor (ingest resumes there, not at start_height). */
  let cursorBefore = 0;
  let startedAt: Date;

  const hubEndpoints = async () => (await sim.chain(HUB.chain_id)).endpoints;
  const metrics = async () => (await fetch(`http://127.0.0.1:${INGEST_PORT}/metrics`)).text();
  const sentOnStream = async () => {
    const { jsm } = await nats.get();
    const info = await jsm.streams.info(STREAMS.PACKETS.name, { subjects_filter: `unstuck.packet.sent.v1.${HUB.chain_id}.>` });
    return Object.values(info.state.subjects ?? {}).reduce((n, v) => n + v, 0);
  };
  const cursor = async (chain: string) =>
    Number((await db.query<{ height: string }>(`SELECT height FROM ingest_cursors WHERE chain_id = $1`, [chain]))[0]?.height ?? 0);

  beforeAll(async () => {
    await db.start();
    sentBefore = await sentOnStream();
    cursorBefore = await cursor(HUB.chain_id);
    startedAt = new Date();
    // What an earlier run learned from chain state about the channels chain-sim opens (same ids every run).
    await db.query(`DELETE FROM channel_counterparties WHERE channel LIKE 'channel-9____'`);
    simProcess = startBuiltApp('chain-sim', {
      CHAIN_SIM_RPC_BASE_PORT: String(RPC_BASE),
      CHAIN_SIM_ADMIN_PORT: String(ADMIN_PORT),
      CHAIN_SIM_BLOCK_MS: '100',
      CHAIN_SIM_SEED: '23',
      CHAIN_SIM_TRANSFERS_PER_BLOCK: '2',
      CHAIN_SIM_MAINNET_CHAINS: HUB.chain_id,
      CHAIN_SIM_MAINNET_RETAIN_BLOCKS: String(RETAIN),
      CHAIN_SIM_MAINNET_BLOCK_LEVEL_SHARE: '0.1',
    });
    await sim.waitUntilUp();
    const earliest = await ChainSimAdmin.earliestHeights([RPC_BASE + 10, RPC_BASE + 20]);
    const dir = mkdtempSync(join(tmpdir(), 'unstuck-mainnet-'));
    const chainsFile = join(dir, 'chains.yaml');
    writeFileSync(
      chainsFile,
      [
        `- chain_id: ${HUB.chain_id}\n  rpc:\n    - http://127.0.0.1:${HUB.main}\n    - http://127.0.0.1:${HUB.archive}\n  start_height: 1\n`,
        `- chain_id: osmosis-1\n  rpc: http://127.0.0.1:${RPC_BASE + 10}\n  start_height: ${earliest[0]}\n`,
        `- chain_id: neutron-1\n  rpc: http://127.0.0.1:${RPC_BASE + 20}\n  start_height: ${earliest[1]}\n`,
      ].join(''),
    );
    // The backlog: BACKLOG_BLOCKS blocks before ingest starts, most of them already pruned by the public endpoint.
    const first = (await hubEndpoints()).find((e) => e.name === 'archive')!.earliest_height;
    await waitFor(async () => (await sim.call<{ chains: Array<{ chain_id: string; height: number }> }>('/chains')).chains[0]!.height >= first + BACKLOG_BLOCKS, 60_000, 200);
    ingest = startBuiltApp('packet-ingest', { INGEST_PORT: String(INGEST_PORT), CHAINS_FILE: chainsFile, INGEST_POLL_INTERVAL_MS: '200' });
  }, 120_000);

  afterAll(async () => {
    ingest?.kill('SIGKILL');
    simProcess?.kill('SIGKILL');
    await db.stop();
    await nats.close();
  });

  it('catches up the backlog behind a batch limit of 10, through the archive endpoint, with one gap below every endpoint', async () => {
    const endpoints = await hubEndpoints();
    const archive = endpoints.find((e) => e.name === 'archive')!;
    const main = endpoints.find((e) => e.name === 'main')!;
    expect(main.earliest_height).toBeGreaterThan(archive.earliest_height + BACKLOG_BLOCKS - RETAIN - 10);

    const truth = await sim.quiesce<Truth>(db, CHAINS, 60_000);
    expect(await packetDifferences(db, truth)).toEqual([]);

    // After an endpoint's first refusal, no batch it received exceeded its limit.
    const after = await hubEndpoints();
    expect(after.reduce((n, e) => n + e.batches_refused, 0)).toBeGreaterThanOrEqual(1);
    for (const e of after) if (e.batches_refused > 0) expect(e.largest_batch_after_refusal).toBeLessThanOrEqual(10);
    // Nothing was refused for the budget: ingest keeps to 20 requests/s per endpoint by itself.
    expect(after.reduce((n, e) => n + e.refused_for_rate, 0)).toBe(0);
    // The heights only the archive had came from it.
    expect(sumSamples(await metrics(), 'comet_rpc_requests_total', `endpoint="127.0.0.1:${HUB.archive}"`)).toBeGreaterThan(BACKLOG_BLOCKS / 5 / 2);

    // The heights from where ingest starts (height 1, or an earlier run's cursor) to the archive's first are on no
    // endpoint: one gap, recorded once.
    const gaps = await db.query<{ from_height: string; to_height: string; reason: string }>(
      `SELECT from_height::text, to_height::text, reason FROM ingest_gaps WHERE chain_id = $1 AND recorded_at >= $2`,
      [HUB.chain_id, startedAt],
    );
    expect(gaps).toEqual([{ from_height: String(cursorBefore + 1), to_height: String(archive.earliest_height - 1), reason: 'pruned' }]);
    expect(sumSamples(await metrics(), 'ingest_skipped_heights_total', `chain_id="${HUB.chain_id}"`)).toBe(archive.earliest_height - 1 - cursorBefore);
  }, 120_000);

  it('stores and publishes packets sent at the block level, with their height and no transaction', async () => {
    const truth = await sim.packets<Truth>();
    const blockLevel = truth.filter((p) => p.block_level);
    expect(blockLevel.length).toBeGreaterThan(3);
    const rows = await db.query<{ sequence: string; send_tx_hash: string | null; send_height: string | null }>(
      `SELECT f.sequence::text, f.send_tx_hash, f.send_height::text
         FROM unnest($2::text[], $3::bigint[]) AS t(channel, sequence)
         JOIN packet_flow f ON f.src_chain_id = $1 AND f.src_port = 'transfer' AND f.src_channel = t.channel AND f.sequence = t.sequence`,
      [HUB.chain_id, blockLevel.map((p) => p.src_channel), blockLevel.map((p) => p.sequence)],
    );
    expect(rows).toHaveLength(blockLevel.length);
    for (const r of rows) expect(r).toMatchObject({ send_tx_hash: null, send_height: expect.stringMatching(/^[0-9]+$/) });
    // Published once each, like every other send of the chain.
    expect((await sentOnStream()) - sentBefore).toBe(truth.filter((p) => p.src_chain_id === HUB.chain_id).length);
  });

  it('an acknowledgement written after the receipt (async ack) moves its packet; one never written leaves it received with the ack pending', async () => {
    const channel = async (src: string) =>
      (await sim.call<{ paths: Array<{ src: { chainId: string; channelId: string }; dst: { chainId: string } }> }>('/chains')).paths.find(
        (p) => p.src.chainId === src && p.dst.chainId === HUB.chain_id,
      )!.src.channelId;
    const srcChannel = await channel('osmosis-1');
    const later = await sim.call<{ sequence: string }>('/transfer', { src_chain_id: 'osmosis-1', src_channel: srcChannel, fate: 'relayed', async_ack: true });
    const never = await sim.call<{ sequence: string }>('/transfer', { src_chain_id: 'osmosis-1', src_channel: srcChannel, fate: 'ack_pending' });
    const truth = await sim.quiesce<Truth>(db, CHAINS, 60_000);
    expect(await packetDifferences(db, truth)).toEqual([]);
    const row = async (sequence: string) =>
      (await db.query<{ status: string; ack_pending: boolean | null; recv_height: string; ack_written_height: string | null }>(
        `SELECT status, ack_pending, recv_height::text, ack_written_height::text FROM packet_flow WHERE src_chain_id = 'osmosis-1' AND src_channel = $1 AND sequence = $2`,
        [srcChannel, sequence],
      ))[0]!;
    const asyncAcked = await row(later.sequence);
    expect(asyncAcked).toMatchObject({ status: 'acknowledged', ack_pending: true });
    expect(Number(asyncAcked.ack_written_height)).toBeGreaterThan(Number(asyncAcked.recv_height));
    expect(await row(never.sequence)).toMatchObject({ status: 'received', ack_pending: true, ack_written_height: null });
    // The async ack was published as its own event.
    const { jsm } = await nats.get();
    const info = await jsm.streams.info(STREAMS.PACKETS.name, { subjects_filter: `unstuck.packet.ack_written.v1.osmosis-1.${srcChannel}` });
    expect(Object.values(info.state.subjects ?? {}).reduce((n, v) => n + v, 0)).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('a channel chain-registry does not know is resolved from chain state (ChannelClientState), not dead-lettered', async () => {
    const opened = await sim.call<{ a: { chainId: string; channelId: string }; b: { chainId: string; channelId: string } }>('/channels', {
      a_chain_id: 'osmosis-1',
      b_chain_id: HUB.chain_id,
    });
    const sent = await sim.call<{ sequence: string }>('/transfer', { src_chain_id: 'osmosis-1', src_channel: opened.a.channelId, fate: 'relayed' });
    const truth = await sim.quiesce<Truth>(db, CHAINS, 60_000);
    expect(await packetDifferences(db, truth)).toEqual([]);
    const [row] = await db.query<{ status: string; dst_chain_id: string; recv_relayer: string | null }>(
      `SELECT status, dst_chain_id, recv_relayer FROM packet_flow WHERE src_chain_id = 'osmosis-1' AND src_channel = $1 AND sequence = $2`,
      [opened.a.channelId, sent.sequence],
    );
    expect(row).toMatchObject({ status: 'acknowledged', dst_chain_id: HUB.chain_id, recv_relayer: expect.stringMatching(/^cosmos1/) });
    const learned = await db.query<{ chain_id: string; channel: string; counterparty_chain_id: string; source: string }>(
      `SELECT chain_id, channel, counterparty_chain_id, source FROM channel_counterparties WHERE channel = ANY($1) ORDER BY chain_id`,
      [[opened.a.channelId, opened.b.channelId]],
    );
    expect(learned).toEqual([
      { chain_id: HUB.chain_id, channel: opened.b.channelId, counterparty_chain_id: 'osmosis-1', source: 'abci_query' },
      { chain_id: 'osmosis-1', channel: opened.a.channelId, counterparty_chain_id: HUB.chain_id, source: 'abci_query' },
    ]);
    expect(sumSamples(await metrics(), 'ingest_problems_total', 'reason="unknown_counterparty"')).toBe(0);
    // Asked once per chain end, not per block.
    expect(sumSamples(await metrics(), 'ingest_channel_queries_total', 'outcome="resolved"')).toBe(2);
  }, 90_000);

  it('ICS-20 v2 data and fee-wrapped acks are decoded; IBC v2 packets are counted as unsupported, not dead-lettered as malformed', async () => {
    const problemsBefore = sumSamples(await metrics(), 'ingest_problems_total');
    const paths = (await sim.call<{ paths: Array<{ src: { chainId: string; channelId: string }; dst: { chainId: string } }> }>('/chains')).paths;
    const channel = paths.find((p) => p.src.chainId === 'osmosis-1' && p.dst.chainId === 'neutron-1')!.src.channelId;
    const v2 = await sim.call<{ sequence: string }>('/transfer', { src_chain_id: 'osmosis-1', src_channel: channel, fate: 'relayed', ics20_version: 2, fee_wrapped_ack: true, amount: '424242' });
    await sim.call('/ibc-v2-packet', { chain_id: 'neutron-1' });
    await sim.call('/ibc-v2-packet', { chain_id: HUB.chain_id });
    const truth = await sim.quiesce<Truth>(db, CHAINS, 60_000);
    // Sender, receiver and amount of the v2 packet are compared with chain-sim's truth here.
    expect(await packetDifferences(db, truth)).toEqual([]);
    const [row] = await db.query<{ denom: string; amount: string; status: string; ack_success: boolean }>(
      `SELECT denom, amount::text, status, ack_success FROM packet_flow WHERE src_chain_id = 'osmosis-1' AND src_channel = $1 AND sequence = $2`,
      [channel, v2.sequence],
    );
    expect(row).toEqual({ denom: 'uosmo', amount: '424242', status: 'acknowledged', ack_success: true });
    await waitFor(async () => sumSamples(await metrics(), 'ingest_unsupported_total', 'reason="ibc_v2"') >= 2, 10_000, 200);
    expect(sumSamples(await metrics(), 'ingest_unsupported_total', 'chain_id="neutron-1"', 'reason="ibc_v2"')).toBe(1);
    expect(sumSamples(await metrics(), 'ingest_problems_total')).toBe(problemsBefore);
  }, 90_000);

  it('one of two endpoints dies, then answers 429: ingest moves to the other and loses nothing', async () => {
    await sim.call('/rate', { transfers_per_block: 3 });
    // The first endpoint listed is preferred (its /status gives the head, its websocket the new blocks): it dies.
    await sim.call(`/chains/${HUB.chain_id}/endpoints/main/stop`, {});
    const stoppedAt = await cursor(HUB.chain_id);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await cursor(HUB.chain_id)).toBeGreaterThan(stoppedAt + 10);
    // It comes back behind a rate limit it cannot meet.
    await sim.call(`/chains/${HUB.chain_id}/endpoints/main/profile`, { requestsPerSecond: 1 });
    await sim.call(`/chains/${HUB.chain_id}/endpoints/main/start`, {});
    const limitedAt = await cursor(HUB.chain_id);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await cursor(HUB.chain_id)).toBeGreaterThan(limitedAt + 10);
    await sim.call(`/chains/${HUB.chain_id}/endpoints/main/profile`, { requestsPerSecond: 20 });

    const truth = await sim.quiesce<Truth>(db, CHAINS, 60_000);
    expect(await packetDifferences(db, truth)).toEqual([]);
    const text = await metrics();
    expect(sumSamples(text, 'comet_rpc_errors_total', `endpoint="127.0.0.1:${HUB.main}"`, 'class="endpoint"')).toBeGreaterThan(0);
    expect(sumSamples(text, 'comet_rpc_errors_total', `endpoint="127.0.0.1:${HUB.main}"`, 'class="rate_limited"')).toBeGreaterThan(0);
  }, 120_000);

  it('a subscription the node refuses or cancels is counted and polled through', async () => {
    await sim.call('/rate', { transfers_per_block: 2 });
    // The subscription is on whichever endpoint was preferred when the websocket last connected: both refuse now.
    let cancelled = 0;
    for (const name of ['main', 'archive']) {
      await sim.call(`/chains/${HUB.chain_id}/endpoints/${name}/profile`, { maxSubscriptionsPerClient: 0 });
      cancelled += (await sim.call<{ cancelled: number }>(`/chains/${HUB.chain_id}/endpoints/${name}/cancel-subscriptions`, {})).cancelled;
    }
    expect(cancelled).toBe(1);
    const at = await cursor(HUB.chain_id);
    await waitFor(async () => sumSamples(await metrics(), 'ingest_ws_subscription_refused_total', `chain_id="${HUB.chain_id}"`) >= 1, 10_000, 200);
    expect(sumSamples(await metrics(), 'ingest_ws_subscription_refused_total', `chain_id="${HUB.chain_id}"`, 'reason="cancelled"')).toBe(1);
    // Polling meanwhile: ingest keeps up with the chain.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await cursor(HUB.chain_id)).toBeGreaterThan(at + 15);
    expect(sumSamples(await metrics(), 'ingest_ws_subscription_refused_total', `chain_id="${HUB.chain_id}"`, 'reason="max_subscriptions"')).toBeGreaterThanOrEqual(1);
    expect(sumSamples(await metrics(), 'ingest_ws_subscribed', `chain_id="${HUB.chain_id}"`)).toBe(0);
    for (const name of ['main', 'archive']) await sim.call(`/chains/${HUB.chain_id}/endpoints/${name}/profile`, { maxSubscriptionsPerClient: 5 });
    const truth = await sim.quiesce<Truth>(db, CHAINS, 60_000);
    expect(await packetDifferences(db, truth)).toEqual([]);
  }, 90_000);
});
