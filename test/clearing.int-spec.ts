import { Secp256k1HdWallet } from '@cosmjs/amino';
import { io as connectClient, type Socket } from 'socket.io-client';
import { loadEnv } from '@unstuck/config';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { DEV_INTERNAL_SECRET, DEV_SECRET } from '@unstuck/auth';
import { ChainSimAdmin, serverDownFor, startBuiltApp, sumSamples, untilReady, waitFor, writeChainsFile, type ServiceProcess } from '@unstuck/testing';
import { adr036SignDoc } from '../apps/api-gateway/src/auth/adr036';
import { DEV_HOT_WALLET_MNEMONIC } from '../apps/clearing-service/src/env';

/**
 * Clearing end to end on the built services: chain-sim → packet-ingest → NATS → clearing-service (BullMQ, the
 * chain-sim relayer, refunds signed by the hot wallet and broadcast to chain-sim) → gateway → notifier → a
 * socket.io client. Payments are real bank sends on chain-sim, found by hash or noticed by ingest.
 */
const SIM_ADMIN = 'http://127.0.0.1:19600';
const SIM_PORTS = [19657, 19667, 19677];
const GATEWAY = 'http://127.0.0.1:23350';
const NOTIFIER = 'http://127.0.0.1:23354';
const MNEMONIC = 'notice oak worry limit wrap speak medal online prefer cluster roof addict wrist behave treat actual wasp year salad speed social layer crew genius';

describe('clearing (chain-sim, built services, real servers)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const processes: ServiceProcess[] = [];
  const sockets: Socket[] = [];
  const sim = new ChainSimAdmin(SIM_ADMIN);
  let wallet = '';
  let jwt = '';
  /** A channel chain-sim opens but sends nothing on: packets written straight into the tables there are never relayed. */
  let ghost = { channel: '', counterparty: '' };
  let clearingEnv: Record<string, string> = {};

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${GATEWAY}${path}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, ...(body ? { 'content-type': 'application/json' } : {}), 'x-forwarded-for': `10.77.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };
  const simPost = async (path: string, body: unknown) => {
    const res = await fetch(`${SIM_ADMIN}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return (await res.json()) as any;
  };

  /**
   * A transfer from the wallet that no relayer delivers (or whose timeout nobody relays, fate timeout_pending), once
   * ingest has it with its destination, marked stuck with `kind` as the detector would.
   */
  async function stuckPacket(
    channel = 'channel-141',
    fate: 'awaiting_recv' | 'timeout_pending' = 'awaiting_recv',
    kind = 'awaiting_recv',
  ): Promise<{ src_chain_id: string; src_port: string; src_channel: string; sequence: string }> {
    const t = await simPost('/transfer', { src_chain_id: 'cosmoshub-4', src_channel: channel, sender: wallet, fate });
    const id = { src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: channel, sequence: String(t.sequence) };
    await waitFor(
      async () => (await db.query(`SELECT 1 FROM packet_flow WHERE src_chain_id = $1 AND src_channel = $2 AND sequence = $3 AND dst_chain_id IS NOT NULL`, [id.src_chain_id, id.src_channel, id.sequence])).length > 0,
      20_000,
      100,
    );
    await markStuck(id, kind);
    return id;
  }
  async function markStuck(id: { src_chain_id: string; src_channel: string; sequence: string }, kind = 'awaiting_recv') {
    await db.query(
      `UPDATE packet_flow f SET stuck_kind = $4, stuck_since = now() FROM packet_keys k
        WHERE k.src_chain_id = $1 AND k.src_port = 'transfer' AND k.src_channel = $2 AND k.sequence = $3 AND f.created_at = k.created_at AND f.id = k.id`,
      [id.src_chain_id, id.src_channel, id.sequence, kind],
    );
  }
  /** A new channel cosmoshub-4 → osmosis-1 (ids the registry does not know), ORDERED or not, its osmosis end set as given. */
  async function channelWith(osmosisEnd: { state?: string; ordering?: string; client_status?: string } = {}): Promise<{ channel: string; counterparty: string }> {
    const path = await simPost('/channels', { a_chain_id: 'cosmoshub-4', b_chain_id: 'osmosis-1', ordering: osmosisEnd.ordering });
    if (osmosisEnd.state || osmosisEnd.client_status) await simPost(`/chains/osmosis-1/channels/transfer/${path.b.channelId}`, { state: osmosisEnd.state, client_status: osmosisEnd.client_status });
    return { channel: path.a.channelId, counterparty: path.b.channelId };
  }
  /** A quote for clearing one packet (the body of a successful answer). */
  const quoteFor = async (packet: unknown) => (await call('POST', '/api/v1/clearing/quote', { packets: [packet] })).body;
  /** Runs `fn` while every relay through chain-sim takes `ms` (a slow or failing relayer), then makes relays quick again. */
  async function withRelayLatency(ms: number, fn: () => Promise<void>): Promise<void> {
    await sim.call('/relay-latency', { ms });
    try {
      await fn();
    } finally {
      await sim.call('/relay-latency', { ms: 0 });
    }
  }
  /** A packet chain-sim never sent: its relayer has nothing to relay, so ingest never sees it cleared. */
  async function ghostPacket(sequence: number) {
    const createdAt = new Date(Date.now() - 3_600_000);
    const [{ id }] = await db.query<{ id: string }>(
      `INSERT INTO packet_keys (src_chain_id, src_port, src_channel, sequence, created_at) VALUES ('cosmoshub-4', 'transfer', $1, $2, $3) RETURNING id::text`,
      [ghost.channel, sequence, createdAt],
    );
    await db.query(
      `INSERT INTO packet_flow (id, created_at, src_chain_id, src_port, src_channel, sequence, dst_chain_id, dst_port, dst_channel, status, stuck_kind, stuck_since, sender, receiver, denom, amount, send_time, timeout_timestamp_ns)
       VALUES ($1, $2, 'cosmoshub-4', 'transfer', $3, $4, 'osmosis-1', 'transfer', $6, 'sent', 'awaiting_recv', $2, $5, 'osmo1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu', 'uatom', 5, $2, 0)`,
      [id, createdAt, ghost.channel, sequence, wallet, ghost.counterparty],
    );
    return { src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: ghost.channel, sequence: String(sequence) };
  }
  /** The ghost packets' rows (chain-sim numbers opened channels alike on every start, so a crashed run's rows could remain). */
  async function removeGhostRows() {
    await db.query(`DELETE FROM packet_flow WHERE src_chain_id = 'cosmoshub-4' AND src_channel = $1`, [ghost.channel]);
    await db.query(`DELETE FROM packet_keys WHERE src_chain_id = 'cosmoshub-4' AND src_channel = $1`, [ghost.channel]);
  }
  /** kill -9 of the clearing service, nothing flushed or closed; `restart` starts it again on the same Redis and Postgres. */
  const crashClearing = async () => {
    processes[2]!.kill('SIGKILL');
    expect((await processes[2]!.exited).signal).toBe('SIGKILL');
  };
  const restartClearing = async () => {
    processes[2] = startBuiltApp('clearing-service', clearingEnv);
    await untilReady('http://127.0.0.1:23351/health/ready', [processes[2]!]);
  };
  /** Refund transactions from the hot wallet to the test wallet, as the chain's own tx_search finds them. */
  const refundTxsOnChain = async (hotWallet: string) => {
    const query = encodeURIComponent(`"transfer.sender='${hotWallet}' AND transfer.recipient='${wallet}'"`);
    const found = (await (await fetch(`http://127.0.0.1:${SIM_PORTS[0]}/tx_search?query=${query}&per_page=100`)).json()) as any;
    return Number(found.result.total_count);
  };
  const pay = (quote: any, amount = quote.payment.amount, memo = quote.payment.memo) =>
    simPost('/payment', { chain_id: quote.payment.chain_id, from: wallet, to: quote.payment.address, amount, denom: quote.payment.denom, memo }).then((r) => r.tx_hash as string);
  /** Verifies by hash, retrying while the payment is not in a block yet. */
  const verify = async (quote: any, txHash: string) => {
    let answer: Awaited<ReturnType<typeof call>> | undefined;
    await waitFor(async () => {
      answer = await call('POST', '/api/v1/clearing/verify-payment', { token: quote.token, tx_hash: txHash });
      return answer.body?.error?.code !== 'tx_not_found';
    }, 15_000, 300);
    return answer!;
  };
  const statusOf = async (quote: any) => (await call('GET', `/api/v1/clearing/${quote.token}`)).body;
  const until = (quote: any, state: string, timeoutMs = 30_000) =>
    waitFor(async () => {
      const s = await statusOf(quote);
      return s?.state === state ? s : false;
    }, timeoutMs, 250).catch(async (e: Error) => {
      // Say why: the operation as it stands and the clearing service's own words.
      throw new Error(`${e.message}\noperation: ${JSON.stringify(await statusOf(quote))}\n${processes[2]?.output().slice(-3000)}`);
    });

  /** The operation once it has `count` refunds, every one confirmed on chain. */
  const refundsConfirmed = (quote: any, count = 1) =>
    waitFor(async () => {
      const s = await statusOf(quote);
      return s.refunds.length === count && s.refunds.every((r: any) => r.status === 'confirmed') ? s : false;
    }, 30_000, 250);
  /** chain-sim's ground truth about one packet. */
  const simPacket = async (packet: { src_chain_id: string; src_channel: string; sequence: string }) =>
    (await sim.packets<{ src_chain_id: string; src_channel: string; sequence: string; state: string; recv_relayers?: string[] }>()).find(
      (p) => p.src_chain_id === packet.src_chain_id && p.src_channel === packet.src_channel && p.sequence === packet.sequence,
    )!;

  beforeAll(async () => {
    await db.start();
    const signer = await Secp256k1HdWallet.fromMnemonic(MNEMONIC, { prefix: 'cosmos' });
    wallet = (await signer.getAccounts())[0]!.address;
    await db.query(`DELETE FROM clearing_operations WHERE wallet_address = $1`, [wallet]).catch(() => undefined);

    processes.push(startBuiltApp('chain-sim', { CHAIN_SIM_RPC_BASE_PORT: String(SIM_PORTS[0]), CHAIN_SIM_ADMIN_PORT: '19600', CHAIN_SIM_BLOCK_MS: '250', CHAIN_SIM_TRANSFERS_PER_BLOCK: '1' }));
    await sim.waitUntilUp();
    ghost = await channelWith();
    await removeGhostRows();
    const earliest = await ChainSimAdmin.earliestHeights(SIM_PORTS);
    const chainsFile = writeChainsFile(['cosmoshub-4', 'osmosis-1', 'neutron-1'].map((id, i) => ({ chain_id: id, port: SIM_PORTS[i]!, start_height: earliest[i]! })));
    processes.push(startBuiltApp('packet-ingest', { INGEST_PORT: '23352', CHAINS_FILE: chainsFile, INGEST_POLL_INTERVAL_MS: '200' }));
    clearingEnv = {
      CLEARING_PORT: '23351',
      CHAINS_FILE: chainsFile,
      CHAIN_SIM_ADMIN_URL: SIM_ADMIN,
      CLEARING_DEADLINE_SECONDS: '8',
      CLEARING_BACKOFF_MS: '100',
      // A killed worker's job goes to the next one once its lock lapses: short here, so the crash tests are quick.
      CLEARING_JOB_LOCK_MS: '3000',
      // A relay that takes longer is a relayer failure (chain-sim's /relay-latency makes one on demand).
      RELAYER_TIMEOUT_MS: '2000',
      // Relays not seen on chain 2 s after the relayer returned are relayed again (before the 8 s deadline).
      CLEARING_RELAY_CHECK_SECONDS: '2',
      // The recovery sweep every 2 s, for what has been unchanged 3 s.
      CLEARING_SWEEP_SECONDS: '2',
      CLEARING_SWEEP_QUIET_SECONDS: '3',
    };
    processes.push(startBuiltApp('clearing-service', clearingEnv));
    processes.push(startBuiltApp('notifier', { NOTIFIER_PORT: '23354' }));
    processes.push(startBuiltApp('api-gateway', { GATEWAY_PORT: '23350', CLEARING_URL: 'http://127.0.0.1:23351' }));
    await untilReady([`${GATEWAY}/health/ready`, `${NOTIFIER}/health/ready`, 'http://127.0.0.1:23351/health/ready', 'http://127.0.0.1:23352/health/ready'], processes);
    const challenge = await (await fetch(`${GATEWAY}/api/v1/auth/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: wallet }) })).json() as any;
    const { signature } = await signer.signAmino(wallet, adr036SignDoc(wallet, challenge.message));
    const verified = await (await fetch(`${GATEWAY}/api/v1/auth/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: wallet, nonce: challenge.nonce, signature }) })).json() as any;
    jwt = verified.token;
    expect(jwt).toBeTruthy();
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await db.query(`DELETE FROM refunds WHERE operation_id IN (SELECT id FROM clearing_operations WHERE wallet_address = $1)`, [wallet]);
    await db.query(`DELETE FROM payments WHERE operation_id IN (SELECT id FROM clearing_operations WHERE wallet_address = $1)`, [wallet]);
    await db.query(`DELETE FROM clearing_operations WHERE wallet_address = $1`, [wallet]);
    await removeGhostRows();
    await db.stop();
  }, 30_000);

  it('stuck → quote → paid (hash given) → relayed → completed once ingest sees the receipt, live on clearing:<token>', async () => {
    const packet = await stuckPacket();
    const quote = await call('POST', '/api/v1/clearing/quote', { packets: [packet] });
    expect(quote.status).toBe(201);
    const q = quote.body;
    expect(q).toMatchObject({ state: 'quoted', payment: { chain_id: 'cosmoshub-4', denom: 'uatom', memo: `CLR-${q.token}` }, packets: [{ packet, stuck_kind: 'awaiting_recv' }] });
    expect(BigInt(q.fee.total)).toBe(BigInt(q.fee.base) + BigInt(q.fee.per_packet) + BigInt(q.fee.gas));
    expect(q.payment.amount).toBe(q.fee.total);

    const socket = connectClient(NOTIFIER, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: jwt } });
    sockets.push(socket);
    const states: string[] = [];
    socket.on('batch', (b: { room: string; messages: Array<{ data: { state: string } }> }) => states.push(...b.messages.map((m) => m.data.state)));
    await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
    const sub = (await socket.timeout(5_000).emitWithAck('subscribe', { topics: [`clearing:${q.token}`] })) as { subscribed: unknown[] };
    expect(sub.subscribed).toHaveLength(1);

    const tx = await pay(q);
    const verified = await verify(q, tx);
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ state: expect.stringMatching(/^(paid|clearing|completed)$/), paid: { tx_hash: tx, excess: '0' } });
    // Idempotent: the same payment again, the same operation.
    const again = await call('POST', '/api/v1/clearing/verify-payment', { token: q.token, tx_hash: tx.toLowerCase() });
    expect(again.status).toBe(200);
    expect(again.body.operation_id).toBe(verified.body.operation_id);

    const done = await until(q, 'completed');
    expect(done).toMatchObject({ progress: { total: 1, cleared: 1 }, packets: [{ packet, state: 'cleared', tx_hash: expect.stringMatching(/^[0-9A-F]{64}$/) }], refunds: [] });
    await waitFor(() => states.includes('completed'), 10_000, 100);
    expect(states).toEqual(expect.arrayContaining(['paid', 'clearing', 'completed']));

    // The packet is no longer stuck for anyone, and its transaction cannot pay a second operation.
    const other = await call('POST', '/api/v1/clearing/quote', { packets: [await stuckPacket()] });
    const replay = await call('POST', '/api/v1/clearing/verify-payment', { token: other.body.token, tx_hash: tx });
    expect(replay).toMatchObject({ status: 409, body: { error: { code: 'payment_replayed' } } });
  }, 90_000);

  it('refuses to quote a received packet whose acknowledgement the destination has not written yet (async ack), and says why', async () => {
    const t = await simPost('/transfer', { src_chain_id: 'cosmoshub-4', src_channel: 'channel-141', sender: wallet, fate: 'ack_pending' });
    const id = { src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: 'channel-141', sequence: String(t.sequence) };
    await waitFor(
      async () => (await db.query(`SELECT 1 FROM packet_flow WHERE src_chain_id = $1 AND src_channel = $2 AND sequence = $3 AND status = 'received' AND ack_pending`, [id.src_chain_id, id.src_channel, id.sequence])).length > 0,
      20_000,
      100,
    );
    // Even marked stuck (as a detector of the old rules would have), it is not sold: there is no acknowledgement to relay.
    await db.query(
      `UPDATE packet_flow f SET stuck_kind = 'awaiting_ack', stuck_since = now() FROM packet_keys k
        WHERE k.src_chain_id = $1 AND k.src_port = 'transfer' AND k.src_channel = $2 AND k.sequence = $3 AND f.created_at = k.created_at AND f.id = k.id`,
      [id.src_chain_id, id.src_channel, id.sequence],
    );
    const quote = await call('POST', '/api/v1/clearing/quote', { packets: [id] });
    expect(quote.status).toBe(400);
    expect(quote.body.error).toMatchObject({ code: 'ack_not_written', message: expect.stringContaining('has not written its acknowledgement yet') });
  });

  it('asks the chains before quoting: a closed channel end or a client that is not Active is refused, and says which', async () => {
    const closed = await channelWith({ state: 'CLOSED' });
    const onClosed = await call('POST', '/api/v1/clearing/quote', { packets: [await stuckPacket(closed.channel)] });
    expect(onClosed.status).toBe(400);
    expect(onClosed.body.error).toMatchObject({ code: 'channel_not_open', message: expect.stringContaining(`channel transfer/${closed.counterparty} on osmosis-1 is CLOSED`) });

    const expired = await channelWith({ client_status: 'Expired' });
    const onExpired = await call('POST', '/api/v1/clearing/quote', { packets: [await stuckPacket(expired.channel)] });
    expect(onExpired.status).toBe(400);
    expect(onExpired.body.error).toMatchObject({ code: 'client_not_active', message: expect.stringMatching(/on osmosis-1 \(tracking cosmoshub-4.*\) is Expired/) });

    // Nothing was held for the refused quotes: with the client recovered (its status read afresh after a few seconds), the packet is sold.
    const packet = await stuckPacket(expired.channel);
    await simPost(`/chains/osmosis-1/channels/transfer/${expired.counterparty}`, { client_status: 'Active' });
    await waitFor(async () => (await call('POST', '/api/v1/clearing/quote', { packets: [packet] })).status === 201, 15_000, 500);
  }, 60_000);

  it('on an ORDERED channel, quotes the destination’s next sequence first (or with the later ones), never a later one alone', async () => {
    const ordered = await channelWith({ ordering: 'ORDERED' });
    const first = await stuckPacket(ordered.channel);
    const second = await stuckPacket(ordered.channel);
    const alone = await call('POST', '/api/v1/clearing/quote', { packets: [second] });
    expect(alone.status).toBe(400);
    expect(alone.body.error).toMatchObject({ code: 'ordered_channel_blocked', message: expect.stringContaining(`osmosis-1 takes sequence ${first.sequence} next`) });
    const both = await call('POST', '/api/v1/clearing/quote', { packets: [second, first] });
    expect(both).toMatchObject({ status: 201 });
  }, 60_000);

  it('quotes a timeout only once the destination has passed the timeout, whatever the stored stuck kind says', async () => {
    // Stored as timed out (a detector judging by its own clock), but osmosis-1 is far from the timeout: a receipt is quoted.
    const early = await stuckPacket('channel-141', 'awaiting_recv', 'timeout_pending');
    expect((await quoteFor(early)).packets).toEqual([{ packet: early, stuck_kind: 'awaiting_recv' }]);
    // Stored as awaiting receipt, but osmosis-1 has passed its timeout (3–6 blocks): only a timeout clears it now.
    const late = await stuckPacket('channel-141', 'timeout_pending', 'awaiting_recv');
    // Its timeout is at most 6 blocks of 250 ms away, and clearing-service reuses a chain's head for 5 s.
    await new Promise((r) => setTimeout(r, 6_500));
    expect((await quoteFor(late)).packets).toEqual([{ packet: late, stuck_kind: 'timeout_pending' }]);
  }, 60_000);

  it('20 concurrent quotes for one stuck packet: exactly one is sold, the others get 409 naming the packet', async () => {
    const packet = await stuckPacket();
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/api/v1/clearing/quote', { packets: [packet] })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) {
      expect(a.body.error).toMatchObject({ code: 'packet_already_clearing', message: expect.stringContaining(`${packet.src_chain_id}/transfer/${packet.src_channel}/${packet.sequence}`) });
    }
    const live = await db.query(
      `SELECT 1 FROM clearing_operation_packets p JOIN clearing_operations o ON o.id = p.operation_id
        WHERE p.src_chain_id = $1 AND p.src_channel = $2 AND p.sequence = $3 AND o.status = 'quoted'`,
      [packet.src_chain_id, packet.src_channel, packet.sequence],
    );
    expect(live).toHaveLength(1);
  });

  it('the internal API takes the internal secret only: GATEWAY_SECRET, which signs sign-in tokens, never travels nor opens it', async () => {
    const post = (secret: string) =>
      fetch('http://127.0.0.1:23351/internal/v1/clearing/quote', { method: 'POST', headers: { 'content-type': 'application/json', 'x-internal-secret': secret }, body: '{}' });
    expect((await post(DEV_SECRET)).status).toBe(401);
    // The right secret passes the door (and the empty body is then refused for what it lacks).
    expect((await post(DEV_INTERNAL_SECRET)).status).toBe(400);
  });

  it('notices a payment by itself (ingest sees the CLR- memo), and refunds the excess of an overpayment with a signed transaction', async () => {
    const q = await quoteFor(await stuckPacket());
    const extra = 12_345n;
    const tx = await pay(q, (BigInt(q.payment.amount) + extra).toString());
    const done = await until(q, 'completed');
    expect(done.paid).toMatchObject({ tx_hash: tx, detected_by: 'ingest', excess: extra.toString() });
    const [refunded] = (await refundsConfirmed(q)).refunds;
    expect(refunded).toMatchObject({ reason: 'excess', amount: extra.toString(), denom: 'uatom', tx_hash: expect.stringMatching(/^[0-9A-F]{64}$/) });
    // The refund is a real transaction on chain-sim: its RPC finds it by hash.
    const found = (await (await fetch(`http://127.0.0.1:${SIM_PORTS[0]}/tx?hash=0x${refunded.tx_hash}`)).json()) as any;
    expect(found.result.tx_result.code).toBe(0);
  }, 90_000);

  describe('every CLR- payment that reaches the service is recorded, and what cannot pay goes back to whose funds moved', () => {
    const IBC_ATOM_ON_HUB = 'ibc/14F9BC3E44B8A9C1BE1FB08980FAB87034C9905EF17CF2F5008FC085218811CC';
    /** A payment from `from` to the service address on `chain`, by `message`, with `coins`. */
    const payWith = (q: any, body: Record<string, unknown>) =>
      simPost('/payment', { chain_id: q.payment.chain_id, from: wallet, to: q.payment.address, memo: q.payment.memo, ...body }).then((r) => r.tx_hash as string);
    /** Refunds recorded for a payment transaction, as the database holds them. */
    const refundsOfTx = (txHash: string) =>
      db.query<{ recipient: string; denom: string; amount: string; refund_status: string; operation_id: string | null }>(
        `SELECT r.recipient, r.denom, r.amount::text AS amount, r.refund_status, r.operation_id::text AS operation_id FROM refunds r JOIN payments p ON p.id = r.payment_id
          WHERE p.tx_hash = $1 ORDER BY r.denom`,
        [txHash],
      );
    const confirmedRefunds = (txHash: string, count: number) =>
      waitFor(async () => {
        const rows = await refundsOfTx(txHash);
        return rows.length === count && rows.every((r) => r.refund_status === 'confirmed') ? rows : false;
      }, 30_000, 250);

    it('a payment in another denom (an IBC denom) is refused and sent back in that denom', async () => {
      const q = await quoteFor(await stuckPacket());
      const tx = await payWith(q, { coins: [{ denom: IBC_ATOM_ON_HUB, amount: q.payment.amount }] });
      const answer = await verify(q, tx);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'wrong_denom', message: expect.stringContaining(`goes back: ${q.payment.amount}${IBC_ATOM_ON_HUB} to ${wallet}`) } } });
      expect(await confirmedRefunds(tx, 1)).toEqual([{ recipient: wallet, denom: IBC_ATOM_ON_HUB, amount: q.payment.amount, refund_status: 'confirmed', operation_id: q.operation_id }]);
      expect((await statusOf(q)).state).toBe('quoted');
    }, 60_000);

    it('a MsgMultiSend paying the fee plus an IBC coin: the operation is paid (noticed by ingest) and the IBC coin goes back', async () => {
      const q = await quoteFor(await stuckPacket());
      const tx = await payWith(q, { message: 'multi_send', coins: [{ denom: 'uatom', amount: q.payment.amount }, { denom: IBC_ATOM_ON_HUB, amount: '77' }] });
      const done = await until(q, 'completed');
      expect(done.paid).toMatchObject({ tx_hash: tx, detected_by: 'ingest', payer: wallet, excess: '0' });
      expect(await confirmedRefunds(tx, 1)).toEqual([{ recipient: wallet, denom: IBC_ATOM_ON_HUB, amount: '77', refund_status: 'confirmed', operation_id: q.operation_id }]);
    }, 60_000);

    it('an authz MsgExec underpayment goes back to the granter whose funds moved, not to the grantee who signed', async () => {
      const q = await quoteFor(await stuckPacket());
      const granter = wallet;
      const tx = await payWith(q, { message: 'authz_exec', grantee: 'cosmos1grantee0000000000000000000000000000000', coins: [{ denom: 'uatom', amount: '1' }] });
      const answer = await verify(q, tx);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'underpaid' } } });
      expect(await confirmedRefunds(tx, 1)).toEqual([{ recipient: granter, denom: 'uatom', amount: '1', refund_status: 'confirmed', operation_id: q.operation_id }]);
    }, 60_000);

    it('a payment whose memo names no operation is recorded without one and sent back (noticed by ingest)', async () => {
      const q = await quoteFor(await stuckPacket());
      const tx = await payWith(q, { memo: `CLR-${'Z'.repeat(43)}`, coins: [{ denom: 'uatom', amount: '4242' }] });
      expect(await confirmedRefunds(tx, 1)).toEqual([{ recipient: wallet, denom: 'uatom', amount: '4242', refund_status: 'confirmed', operation_id: null }]);
      const [payment] = await db.query<{ operation_id: string | null; rejection_code: string }>(`SELECT operation_id, rejection_code FROM payments WHERE tx_hash = $1`, [tx]);
      expect(payment).toEqual({ operation_id: null, rejection_code: 'unknown_token' });
      await db.query(`DELETE FROM refunds WHERE payment_id IN (SELECT id FROM payments WHERE tx_hash = $1)`, [tx]);
      await db.query(`DELETE FROM payments WHERE tx_hash = $1`, [tx]);
    }, 60_000);

    it('a payment made on another chain than the quote’s is sent back on the chain it was made on', async () => {
      const q = await quoteFor(await stuckPacket());
      const osmoService = (await (await Secp256k1HdWallet.fromMnemonic(DEV_HOT_WALLET_MNEMONIC, { prefix: 'osmo' })).getAccounts())[0]!.address;
      const payer = 'osmo1payer000000000000000000000000000000000';
      const tx = (await simPost('/payment', { chain_id: 'osmosis-1', from: payer, to: osmoService, memo: q.payment.memo, denom: 'uosmo', amount: '999' })).tx_hash as string;
      const rows = await confirmedRefunds(tx, 1);
      expect(rows).toEqual([{ recipient: payer, denom: 'uosmo', amount: '999', refund_status: 'confirmed', operation_id: q.operation_id }]);
      const [payment] = await db.query<{ chain_id: string; rejection_code: string }>(`SELECT chain_id, rejection_code FROM payments WHERE tx_hash = $1`, [tx]);
      expect(payment).toEqual({ chain_id: 'osmosis-1', rejection_code: 'wrong_chain' });
      expect((await statusOf(q)).state).toBe('quoted');
    }, 60_000);
  });

  it('a payment ingest sees before the node has indexed it is verified once the node has, not dropped', async () => {
    // The node's tx indexer 12 blocks (3 s) behind its blocks: ingest sees the payment first, /tx says not found.
    await sim.call('/chains/cosmoshub-4/endpoints/main/profile', { txIndexLagBlocks: 12 });
    try {
      const q = await quoteFor(await stuckPacket());
      const tx = await pay(q);
      const done = await until(q, 'completed', 60_000);
      expect(done.paid).toMatchObject({ tx_hash: tx, detected_by: 'ingest' });
    } finally {
      await sim.call('/chains/cosmoshub-4/endpoints/main/profile', { txIndexLagBlocks: 0 });
    }
    const metrics = await (await fetch('http://127.0.0.1:23351/metrics')).text();
    expect(sumSamples(metrics, 'clearing_payments_total', 'outcome="retry_later"')).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('refuses an underpayment with what is missing and sends it back; a full payment then clears; a second payment goes back too', async () => {
    const q = await quoteFor(await stuckPacket());
    const shortAmount = (BigInt(q.payment.amount) - 1n).toString();
    const shortTx = await pay(q, shortAmount);
    const short = await verify(q, shortTx);
    expect(short).toMatchObject({ status: 400, body: { error: { code: 'underpaid', message: expect.stringContaining('1uatom missing') } } });
    expect(short.body.error.message).toContain(`what was received goes back: ${shortAmount}uatom to ${wallet}`);
    // The same answer again; the quote still waits for a payment.
    expect(await call('POST', '/api/v1/clearing/verify-payment', { token: q.token, tx_hash: shortTx })).toMatchObject({ status: 400, body: short.body });
    const returned = await refundsConfirmed(q);
    expect(returned).toMatchObject({ state: 'quoted', paid: null, refunds: [{ reason: 'rejected', amount: shortAmount, denom: 'uatom', status: 'confirmed' }] });

    const fullTx = await pay(q);
    expect((await verify(q, fullTx)).status).toBe(200);
    await until(q, 'completed');
    const twice = await verify(q, await pay(q));
    expect(twice).toMatchObject({ status: 409, body: { error: { code: 'already_paid', message: expect.stringContaining(`already paid by transaction ${fullTx}`) } } });
    const final = await refundsConfirmed(q, 2);
    expect(final).toMatchObject({ state: 'completed', paid: { tx_hash: fullTx }, refunds: [{ reason: 'rejected', amount: shortAmount }, { reason: 'rejected', amount: q.payment.amount }] });

    const notMine = await call('POST', '/api/v1/clearing/quote', { packets: [{ src_chain_id: 'cosmoshub-4', src_port: 'transfer', src_channel: 'channel-141', sequence: '1' }] });
    expect(notMine.status).toBe(400);
    expect(['packet_not_found', 'packet_not_yours']).toContain(notMine.body.error.code);
    expect((await call('POST', '/api/v1/clearing/quote', { packets: [] })).status).toBe(400);
    expect((await call('POST', '/api/v1/clearing/verify-payment', { token: 'x'.repeat(43), tx_hash: 'A'.repeat(64) })).body.error.code).toBe('unknown_token');
    expect((await call('GET', '/api/v1/clearing/not-a-token')).status).toBe(400);
  }, 60_000);

  it('a relayer that says it relayed and did not: the packets are relayed again before the deadline, and the operation completes', async () => {
    const q = await quoteFor(await stuckPacket());
    await sim.call('/relay-mode', { ignore_next: 1 });
    try {
      expect((await verify(q, await pay(q))).status).toBe(200);
      const done = await until(q, 'completed', 30_000);
      expect(done).toMatchObject({ refunds: [], progress: { total: 1, cleared: 1 } });
    } finally {
      await sim.call('/relay-mode', { ignore_next: 0 });
    }
    const metrics = await (await fetch('http://127.0.0.1:23351/metrics')).text();
    expect(sumSamples(metrics, 'clearing_jobs_total', 'queue="clearing"', 'outcome="relayed_again"')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('fails when the relays never land within the deadline, and refunds the payment by a real broadcast', async () => {
    const q = await quoteFor(await ghostPacket(1));
    expect(q.token).toBeTruthy();
    const tx = await pay(q);
    expect((await verify(q, tx)).status).toBe(200);
    const refunded = await until(q, 'refunded', 60_000);
    expect(refunded.error).toMatch(/not every packet was seen cleared/);
    expect(refunded.refunds).toEqual([{ reason: 'failure', amount: q.payment.amount, denom: 'uatom', status: 'confirmed', tx_hash: expect.stringMatching(/^[0-9A-F]{64}$/) }]);
    // Never twice: one refund row per payment and reason.
    const rows = await db.query(`SELECT 1 FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.tx_hash = $1`, [tx]);
    expect(rows).toHaveLength(1);
  }, 90_000);

  it('a relayer that keeps failing: out of attempts, the operation fails and the payment is refunded by a real broadcast', async () => {
    const packet = await stuckPacket();
    const q = await quoteFor(packet);
    // Every relay takes longer than the relayer's timeout, and chain-sim relays nothing for a caller that gave up.
    await withRelayLatency(5_000, async () => {
      expect((await verify(q, await pay(q))).status).toBe(200);
      const refunded = await until(q, 'refunded', 60_000);
      expect(refunded.error).toMatch(/relaying failed: chain-sim relay API unreachable/);
      expect(refunded.refunds).toEqual([{ reason: 'failure', amount: q.payment.amount, denom: 'uatom', status: 'confirmed', tx_hash: expect.stringMatching(/^[0-9A-F]{64}$/) }]);
    });
    expect((await simPacket(packet)).state).toBe('sent');
  }, 90_000);

  it('a clearing-service killed (kill -9) in the middle of a relay: the job resumes after a restart, the packet is relayed once, nothing refunded', async () => {
    const packet = await stuckPacket();
    const q = await quoteFor(packet);
    // The relay takes 4 s (a relayer building proofs); the service dies inside it, so chain-sim relays nothing.
    await withRelayLatency(4_000, async () => {
      expect((await verify(q, await pay(q))).status).toBe(200);
      await until(q, 'clearing', 15_000);
      await crashClearing();
    });
    // Down for longer than the relay would have taken: nothing was relayed, nothing moved.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await simPacket(packet)).state).toBe('sent');
    expect((await statusOf(q)).state).toBe('clearing');

    await restartClearing();
    const done = await until(q, 'completed', 60_000);
    expect(done).toMatchObject({ progress: { total: 1, cleared: 1 }, refunds: [] });
    // Relayed exactly once, by one relayer (the resumed job), and the operation's job ran to completion once.
    expect((await simPacket(packet)).recv_relayers).toHaveLength(1);
    const [op] = await db.query<{ state: string; payments: string; refunds: string }>(
      `SELECT status AS state, (SELECT count(*) FROM payments WHERE operation_id = o.id)::text AS payments, (SELECT count(*) FROM refunds WHERE operation_id = o.id)::text AS refunds
         FROM clearing_operations o WHERE id = $1`,
      [q.operation_id],
    );
    expect(op).toEqual({ state: 'completed', payments: '1', refunds: '0' });
  }, 120_000);

  it.each([
    ['the PostgreSQL primary', 'primary'],
    ['Redis', 'redis'],
    ['NATS', 'nats'],
  ] as const)('%s stopped for 8 s while an operation is being cleared: it completes once back, nothing refunded', async (_name, server) => {
    const packet = await stuckPacket();
    const q = await quoteFor(packet);
    // The relay takes 1.5 s (within RELAYER_TIMEOUT_MS) and the server goes down meanwhile. Without PostgreSQL the
    // job cannot record the relay, ingest cannot commit the receipt and the service's consumers cannot mark the
    // packet cleared; without Redis the job's queue and lock are out of reach; without NATS ingest cannot publish
    // the receipt that completes the operation.
    await withRelayLatency(1_500, async () => {
      expect((await verify(q, await pay(q))).status).toBe(200);
      await until(q, 'clearing', 15_000);
      await serverDownFor(server, 8_000);
    });
    const done = await until(q, 'completed', 90_000);
    expect(done).toMatchObject({ progress: { total: 1, cleared: 1 }, refunds: [] });
    expect((await simPacket(packet)).state).not.toBe('sent');
    expect(processes[2]!.child.exitCode).toBeNull();
  }, 150_000);

  it('a clearing-service killed while its refund waits in the mempool: after a restart the same signed bytes land once', async () => {
    const q = await quoteFor(await ghostPacket(2));
    const before = await refundTxsOnChain(q.payment.address);
    expect((await verify(q, await pay(q))).status).toBe(200);
    // The chain stops producing blocks: the refund, once broadcast, waits in its mempool.
    await sim.call('/chains/cosmoshub-4/blocks/halt', {});
    try {
      const refundRow = () => db.query<{ refund_status: string; tx_hash: string | null }>(`SELECT refund_status, tx_hash FROM refunds WHERE operation_id = $1`, [q.operation_id]);
      await waitFor(async () => (await refundRow())[0]?.refund_status === 'broadcast', 60_000, 100);
      await new Promise((r) => setTimeout(r, 1_000));
      await crashClearing();
      const [signed] = await refundRow();
      expect(signed!.tx_hash).toMatch(/^[0-9A-F]{64}$/);

      await restartClearing();
      await new Promise((r) => setTimeout(r, 6_000)); // the resumed job re-broadcasts while the chain is still halted
      await sim.call('/chains/cosmoshub-4/blocks/resume', {});
      const refunded = await until(q, 'refunded', 60_000);
      expect(refunded.refunds).toEqual([{ reason: 'failure', amount: q.payment.amount, denom: 'uatom', status: 'confirmed', tx_hash: signed!.tx_hash }]);
    } finally {
      await sim.call('/chains/cosmoshub-4/blocks/resume', {});
    }
    expect(await refundTxsOnChain(q.payment.address)).toBe(before + 1);
  }, 150_000);

  it('no paid operation and no refund without a job: the recovery sweep queues again what a crash left without one', async () => {
    // A payment committed, and the service died before it queued the job: the operation is paid, no job exists.
    const q = await quoteFor(await stuckPacket());
    await db.query(`UPDATE clearing_operations SET status = 'paid', version = version + 1, updated_at = now() - interval '1 minute' WHERE id = $1`, [q.operation_id]);
    await db.query(`UPDATE clearing_packet_holds SET live_until = 'infinity' WHERE operation_id = $1`, [q.operation_id]);
    const done = await until(q, 'completed', 30_000);
    expect(done.progress).toMatchObject({ total: 1, cleared: 1 });

    // A refund recorded (pending) whose job was lost with Redis: the sweep sends it.
    const paid = await quoteFor(await stuckPacket());
    expect((await verify(paid, await pay(paid))).status).toBe(200);
    await until(paid, 'completed');
    const [payment] = await db.query<{ id: string; payer: string }>(`SELECT id::text AS id, payer FROM payments WHERE operation_id = $1`, [paid.operation_id]);
    const [refund] = await db.query<{ id: string }>(
      `INSERT INTO refunds (operation_id, payment_id, reason, chain_id, recipient, denom, amount, updated_at)
       VALUES ($1, $2, 'excess', 'cosmoshub-4', $3, 'uatom', 7, now() - interval '1 minute') RETURNING id::text AS id`,
      [paid.operation_id, payment!.id, payment!.payer],
    );
    await waitFor(
      async () => (await db.query<{ refund_status: string }>(`SELECT refund_status FROM refunds WHERE id = $1`, [refund!.id]))[0]!.refund_status === 'confirmed',
      30_000,
      250,
    );
    const metrics = await (await fetch('http://127.0.0.1:23351/metrics')).text();
    expect(sumSamples(metrics, 'clearing_jobs_total', 'queue="sweep"', 'outcome="clearing_requeued"')).toBeGreaterThanOrEqual(1);
    expect(sumSamples(metrics, 'clearing_jobs_total', 'queue="sweep"', 'outcome="refund_requeued"')).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('20 refunds from one hot wallet at once all land, each once (signed one at a time, sequences tracked)', async () => {
    const hot = (await quoteFor(await stuckPacket())).payment.address as string;
    const before = await refundTxsOnChain(hot);
    // Twenty paid operations, each owed a refund, none with a job yet: the sweep queues all of them at once.
    const refunds = await db.query<{ id: string }>(
      `WITH ops AS (
         INSERT INTO clearing_operations (wallet_address, chain_id, payment_chain_id, status, packet_count, fee_denom, base_fee, per_packet_fee, gas_fee, total_fee, payment_address)
         SELECT $1, 'cosmoshub-4', 'cosmoshub-4', 'completed', 1, 'uatom', 0, 0, 0, 0, $2 FROM generate_series(1, 20) RETURNING id),
       pays AS (
         INSERT INTO payments (operation_id, chain_id, tx_hash, height, payer, recipient, denom, amount, memo, detected_by)
         SELECT id, 'cosmoshub-4', upper(md5(random()::text) || md5(random()::text)), 1, $1, $2, 'uatom', 100, 'CLR-test', 'user' FROM ops RETURNING id, operation_id)
       INSERT INTO refunds (operation_id, payment_id, reason, chain_id, recipient, denom, amount, updated_at)
       SELECT operation_id, id, 'excess', 'cosmoshub-4', $1, 'uatom', 3, now() - interval '1 minute' FROM pays RETURNING id::text AS id`,
      [wallet, hot],
    );
    expect(refunds).toHaveLength(20);
    const ids = refunds.map((r) => r.id);
    const states = () =>
      db.query<{ refund_status: string; tx_hash: string | null; abandoned: number }>(
        `SELECT refund_status, tx_hash, cardinality(abandoned_tx_hashes) AS abandoned FROM refunds WHERE id = ANY($1::uuid[])`,
        [ids],
      );
    await waitFor(async () => (await states()).every((r) => r.refund_status === 'confirmed'), 60_000, 500);
    const done = await states();
    expect(new Set(done.map((r) => r.tx_hash)).size).toBe(20);
    // Each once on chain: exactly twenty refund transactions from the hot wallet to the wallet.
    expect(await refundTxsOnChain(hot)).toBe(before + 20);
  }, 90_000);

  it('an expired token: the payment is refused with 410 and sent back, and the quote shows expired', async () => {
    const q = await quoteFor(await stuckPacket());
    // Five minutes pass (the clock of the quote, not of the test).
    await db.query(`UPDATE clearing_operations SET expires_at = now() - interval '1 second' WHERE id = $1`, [q.operation_id]);
    const late = await verify(q, await pay(q));
    expect(late).toMatchObject({ status: 410, body: { error: { code: 'token_expired', message: expect.stringContaining(`goes back: ${q.payment.amount}uatom to ${wallet}`) } } });
    await until(q, 'expired', 15_000);
    const expired = await refundsConfirmed(q);
    expect(expired).toMatchObject({ state: 'expired', paid: null, refunds: [{ reason: 'rejected', amount: q.payment.amount, status: 'confirmed' }] });
    // The packets are free for a new quote.
    const again = await call('POST', '/api/v1/clearing/quote', { packets: q.packets.map((p: any) => p.packet) });
    expect(again.status).toBe(201);
  }, 60_000);
});
