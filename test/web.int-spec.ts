import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Secp256k1HdWallet } from '@cosmjs/amino';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { redisEnvShape } from '@unstuck/cache';
import { loadEnv } from '@unstuck/config';
import { createDataSource, Database, dbEnvShape } from '@unstuck/db';
import { ChainSimAdmin, REPO_ROOT, startBuiltApp, uniqueSuffix, untilReady, waitFor, writeChainsFile, type ServiceProcess } from '@unstuck/testing';

/**
 * The dashboard end to end, in Debian's Chromium driven by playwright-core: chain-sim → packet-ingest → NATS →
 * notifier → browser for the live feed; the gateway serving the built page, the demo wallet's ADR-036 sign-in and
 * its stuck packets. Screenshots go to test-artifacts/.
 */
const SIM_ADMIN = 'http://127.0.0.1:18600';
const SIM_PORTS = [18657, 18667, 18677];
const GATEWAY = 'http://127.0.0.1:23340';
const NOTIFIER_PORT = 23344;
const DEMO_MNEMONIC = 'surround miss nominee dream gap cross assault thank captain prosper drop duty group candy wealth weather scale put';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

describe('web dashboard (Chromium, built services, chain-sim)', () => {
  const db = new Database(createDataSource(loadEnv(dbEnvShape, {}), 'primary', 'test'), undefined, { maxLagMs: 5000, checkIntervalMs: 60_000 });
  const chain = `webtest-${uniqueSuffix()}`;
  const processes: ServiceProcess[] = [];
  let browser: Browser;
  let demoAddress = '';
  const sim = new ChainSimAdmin(SIM_ADMIN);
  let realStuck = '';

  beforeAll(async () => {
    await db.start();
    demoAddress = (await (await Secp256k1HdWallet.fromMnemonic(DEMO_MNEMONIC, { prefix: 'cosmos' })).getAccounts())[0]!.address;
    // Two stuck packets of the demo wallet, as ingest and the stuck detector would have left them.
    for (const [sequence, kind] of [
      [1, 'awaiting_recv'],
      [2, 'timeout_pending'],
    ] as const) {
      const createdAt = new Date(Date.now() - 3_600_000 + sequence * 1000);
      const [{ id }] = await db.query<{ id: string }>(
        `INSERT INTO packet_keys (src_chain_id, src_port, src_channel, sequence, created_at) VALUES ($1, 'transfer', 'channel-3', $2, $3) RETURNING id::text`,
        [chain, sequence, createdAt],
      );
      await db.query(
        `INSERT INTO packet_flow (id, created_at, src_chain_id, src_port, src_channel, sequence, dst_chain_id, dst_port, dst_channel, status,
                                  stuck_kind, stuck_since, sender, receiver, denom, amount, send_time, timeout_timestamp_ns)
         VALUES ($1, $2, $3, 'transfer', 'channel-3', $4, 'osmosis-1', 'transfer', 'channel-0', 'sent', $5, $2, $6,
                 'osmo1jltzld78qns9eprhl6zw6uucrf06mtfp5f3fuu', 'uatom', 2500000, $2, 0)`,
        [id, createdAt, chain, sequence, kind, demoAddress],
      );
    }
    processes.push(
      startBuiltApp('chain-sim', {
        CHAIN_SIM_RPC_BASE_PORT: String(SIM_PORTS[0]),
        CHAIN_SIM_ADMIN_PORT: '18600',
        CHAIN_SIM_BLOCK_MS: '300',
        CHAIN_SIM_SEED: '5',
        CHAIN_SIM_TRANSFERS_PER_BLOCK: '4',
      }),
    );
    await sim.waitUntilUp();
    const earliest = await ChainSimAdmin.earliestHeights(SIM_PORTS);
    const ids = ['cosmoshub-4', 'osmosis-1', 'neutron-1'];
    const chainsFile = writeChainsFile(ids.map((id, i) => ({ chain_id: id, port: SIM_PORTS[i]!, start_height: earliest[i]! })));
    processes.push(startBuiltApp('packet-ingest', { INGEST_PORT: '23342', CHAINS_FILE: chainsFile, INGEST_POLL_INTERVAL_MS: '200' }));
    // And a real transfer of the demo wallet that no relayer delivers (the one cleared below), once ingest has it,
    // marked stuck as the detector would.
    realStuck = (await sim.call<{ sequence: string }>('/transfer', { src_chain_id: 'cosmoshub-4', src_channel: 'channel-141', sender: demoAddress, fate: 'awaiting_recv' })).sequence;
    await waitFor(async () => (await db.query(`SELECT 1 FROM packet_flow WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND sequence = $1`, [realStuck])).length > 0, 30_000, 100);
    await db.query(`UPDATE packet_flow SET stuck_kind = 'awaiting_recv', stuck_since = now() WHERE src_chain_id = 'cosmoshub-4' AND src_channel = 'channel-141' AND sequence = $1`, [realStuck]);
    const redis = new Redis(loadEnv(redisEnvShape, {}).REDIS_URL);
    await redis.del(`unstuck:cache:v1:stuck-by-wallet-v2:${demoAddress}`);
    redis.disconnect();
    processes.push(startBuiltApp('notifier', { NOTIFIER_PORT: String(NOTIFIER_PORT), CORS_ORIGINS: GATEWAY }));
    processes.push(startBuiltApp('clearing-service', { CLEARING_PORT: '23341', CHAINS_FILE: chainsFile, CHAIN_SIM_ADMIN_URL: SIM_ADMIN }));
    processes.push(
      startBuiltApp('api-gateway', {
        GATEWAY_PORT: '23340',
        WEB_DEMO_WALLET: 'true',
        WEB_DEMO_MNEMONIC: DEMO_MNEMONIC,
        WEB_NOTIFIER_URL: `http://127.0.0.1:${NOTIFIER_PORT}`,
        CLEARING_URL: 'http://127.0.0.1:23341',
        WEB_PAYMENT_RPCS: `cosmoshub-4=http://127.0.0.1:${SIM_PORTS[0]}`,
      }),
    );
    await untilReady([`${GATEWAY}/health/ready`, `http://127.0.0.1:${NOTIFIER_PORT}/health/ready`, 'http://127.0.0.1:23341/health/ready'], processes);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const p of processes) p.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    // The database outlives the test: its rows would show on a developer's dashboard.
    for (const table of ['packet_flow', 'packet_keys']) await db.query(`DELETE FROM ${table} WHERE src_chain_id = $1`, [chain]);
    await db.query(`DELETE FROM channel_performance WHERE chain_id = $1`, [chain]);
    for (const table of ['refunds', 'payments']) {
      await db.query(`DELETE FROM ${table} WHERE operation_id IN (SELECT id FROM clearing_operations WHERE wallet_address = $1)`, [demoAddress]);
    }
    await db.query(`DELETE FROM clearing_operations WHERE wallet_address = $1`, [demoAddress]);
    await db.stop();
  }, 30_000);

  it('shows live packets from chain-sim, signs in with the demo wallet and lists its stuck packets', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${GATEWAY}/#/network`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 20_000 });
    await waitFor(async () => (await page.locator('#feed li').count()) >= 3, 30_000, 250);
    expect(await page.locator('#feed li').first().textContent()).toMatch(/(sent|received|acknowledged|timed_out).*#\d+/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-network.png'), fullPage: true });

    await page.click('nav a[data-page="transfers"]');
    await page.click('#demo');
    await page.locator('#who').getByText(demoAddress).waitFor({ timeout: 20_000 });
    await waitFor(async () => (await page.locator(`#stuck tbody tr[data-key^="${chain}/"]`).count()) === 2, 20_000, 250);
    const rows = await page.locator(`#stuck tbody tr[data-key^="${chain}/"]`).allTextContents();
    expect(rows.join('\n')).toContain('never received');
    expect(rows.join('\n')).toContain('timed out, refund not relayed');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-transfers.png'), fullPage: true });

    expect(problems).toEqual([]);
  }, 90_000);

  it('clears a stuck packet from the dashboard: quote, instructions with copy buttons, the demo wallet pays from the page, live progress to the receipt', async () => {
    const key = `cosmoshub-4/transfer/channel-141/${realStuck}`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: GATEWAY });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${GATEWAY}/#/transfers`);
    await page.click('#demo');
    const row = page.locator(`#stuck tbody tr[data-key="${key}"]`);
    await row.waitFor({ timeout: 20_000 });
    await row.locator('input[type=checkbox]').check();
    await page.click('#quote');

    /** Waits for a selector; on timeout says what the page said (its status lines) and the clearing service's log. */
    const shown = (selector: string, timeout: number) =>
      page.locator(selector).waitFor({ timeout }).catch(async (e: Error) => {
        const said = await page.locator('[role=status]').allTextContents();
        throw new Error(`${e.message}\npage says: ${JSON.stringify(said)}\n${processes.map((p) => p.output().slice(-1500)).join('\n---\n')}`);
      });
    await shown('#clearing[data-state="quoted"]', 20_000);
    const amount = (await page.locator('#pay-amount').textContent())!;
    const to = (await page.locator('#pay-address').textContent())!;
    const memo = (await page.locator('#pay-memo').textContent())!;
    expect(memo).toMatch(/^CLR-[A-Za-z0-9_-]{43}$/);
    expect(BigInt(amount)).toBeGreaterThan(0n);
    await page.click(`button[data-copy="${memo}"]`);
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(memo);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-clearing-quote.png'), fullPage: true });

    // A hash that pays nothing: the API's refusal, in words, on the page.
    await page.fill('#verify input[name=tx_hash]', 'AB'.repeat(32));
    await page.click('#verify button');
    await waitFor(async () => /is not on cosmoshub-4/.test((await page.locator('#clearing-message').textContent()) ?? ''), 15_000, 100);
    // The demo wallet pays from the page: a bank send signed in the browser by @cosmjs, broadcast to chain-sim's RPC.
    await page.click('#pay-demo');

    await shown('#clearing[data-state="completed"]', 45_000);
    expect(await page.locator('#clearing-progress').evaluate((el) => (el as unknown as { value: number }).value)).toBe(100);
    const txHash = (await page.locator('#payment-tx').textContent())!;
    expect(txHash).toMatch(/^[0-9A-F]{64}$/);
    // On chain: a bank send from the demo wallet to the service address with the memo.
    const tx = (await (await fetch(`http://127.0.0.1:${SIM_PORTS[0]}/tx?hash=0x${txHash}`)).json()) as { result: { tx_result: { code: number; events: Array<{ type: string; attributes: Array<{ key: string; value: string }> }> } } };
    expect(tx.result.tx_result.code).toBe(0);
    const transfer = tx.result.tx_result.events.find((e) => e.type === 'transfer')!.attributes;
    expect(Object.fromEntries(transfer.map((a) => [a.key, a.value]))).toMatchObject({ sender: demoAddress, recipient: to, amount: `${amount}uatom` });
    expect(memo).toMatch(/^CLR-/);
    // The refusal shown while the quote waited is gone once the payment moved it on.
    expect(await page.locator('#clearing-message').textContent()).toBe('');
    expect(await page.locator('#receipt .packets li').first().textContent()).toMatch(new RegExp(`#${realStuck}: cleared in [0-9A-F]{64}`));
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-clearing-receipt.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
