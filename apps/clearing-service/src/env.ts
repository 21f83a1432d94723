import { z } from 'zod';
import { internalEnvShape } from '@unstuck/auth';
import { QUOTE_MAX_PACKETS } from '@unstuck/contracts';
import { envVar, type EnvOf } from '@unstuck/config';
import { platformEnvShape } from '@unstuck/platform';

/** Development only: the well-known test mnemonic; refused in production (anyone could spend from it). */
export const DEV_HOT_WALLET_MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

export const envShape = {
  ...platformEnvShape,
  ...internalEnvShape,
  CLEARING_PORT: envVar.port(3001),
  CHAINS_FILE: envVar.string('config/chains.yaml'),
  /** The hot wallet: payment addresses on every chain, and the signer of refunds. A secret. */
  HOT_WALLET_MNEMONIC: z.string().min(1).default(DEV_HOT_WALLET_MNEMONIC),
  /** `sim` (chain-sim's relay API) or `hermes` (the Hermes CLI). */
  CLEARING_RELAYER: z.enum(['sim', 'hermes']).default('sim'),
  CHAIN_SIM_ADMIN_URL: envVar.string('http://127.0.0.1:26600'),
  HERMES_BIN: envVar.string('hermes'),
  HERMES_CONFIG: z.string().default(''),
  /**
   * Hermes key names (in its keyring, on every chain: `hermes keys add --key-name K …`) lent one run at a time: runs
   * in parallel up to their number, never two on one key. Empty: the config's key_name, one run at a time.
   */
  HERMES_KEYS: envVar.list([]),
  RELAYER_TIMEOUT_MS: envVar.int(120_000, 100),
  /** Fee schedule, in base units of each payment chain's fee denom. */
  CLEARING_BASE_FEE: envVar.int(50_000, 0),
  CLEARING_PER_PACKET_FEE: envVar.int(10_000, 0),
  CLEARING_GAS_PER_PACKET: envVar.int(150_000, 1),
  /** At most QUOTE_MAX_PACKETS (50), the gateway's own bound. */
  CLEARING_MAX_PACKETS: envVar.int(QUOTE_MAX_PACKETS, 1, QUOTE_MAX_PACKETS),
  CLEARING_TOKEN_TTL_SECONDS: envVar.int(300, 1),
  /** After the relays are submitted, how long ingest has to see every packet resolved before the operation fails. */
  CLEARING_DEADLINE_SECONDS: envVar.int(300, 1),
  /**
   * How much longer than its deadline an operation waits while ingest has not yet committed the blocks up to the
   * deadline of a chain where its packets would clear (ingest or NATS down, or far behind), before it is judged on
   * what ingest has seen.
   */
  CLEARING_DEADLINE_GRACE_SECONDS: envVar.int(3_600, 0),
  CLEARING_ATTEMPTS: envVar.int(5, 1, 100),
  /**
   * After the relayer returns, how long until the packets it relayed must be seen on chain (by ingest) before they
   * are relayed again (a relayer's success is not proof), and how many times at most, all before the deadline.
   */
  CLEARING_RELAY_CHECK_SECONDS: envVar.int(30, 1, 86_400),
  CLEARING_RELAY_ROUNDS: envVar.int(3, 0, 100),
  CLEARING_BACKOFF_MS: envVar.int(2_000, 10),
  CLEARING_CONCURRENCY_PER_CHAIN: envVar.int(4, 1, 100),
  /**
   * A job's lock in Redis (renewed at half this while the worker lives): when a worker dies (kill -9), its job is
   * handed to another worker once the lock lapses, within this plus the 5 s stalled-job check.
   */
  CLEARING_JOB_LOCK_MS: envVar.int(30_000, 1_000),
  RPC_TIMEOUT_MS: envVar.int(10_000, 100),
  /** How often the recovery sweep looks for paid operations and unconfirmed refunds without a job (and once at start). */
  CLEARING_SWEEP_SECONDS: envVar.int(60, 1, 86_400),
  /** An operation or refund is swept only after this long unchanged, so that one whose job is being queued is left alone. */
  CLEARING_SWEEP_QUIET_SECONDS: envVar.int(30, 0, 86_400),
  /** A refund not confirmed this long after it was created counts in clearing_refunds_unconfirmed (alert on > 0). */
  CLEARING_REFUND_ALERT_SECONDS: envVar.int(600, 1, 30 * 86_400),
};

export type AppEnv = EnvOf<typeof envShape>;

/**
 * What production refuses to start with: the public development mnemonic (anyone could spend from it) and the `sim`
 * relayer (it asks chain-sim to relay: on real chains nothing would be relayed and every paid operation would fail
 * and be refunded). Each problem is named; development and test allow both.
 */
export function productionProblems(env: Pick<AppEnv, 'NODE_ENV' | 'HOT_WALLET_MNEMONIC' | 'CLEARING_RELAYER'>): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (env.HOT_WALLET_MNEMONIC === DEV_HOT_WALLET_MNEMONIC) problems.push("HOT_WALLET_MNEMONIC is the public development mnemonic; set the hot wallet's own (a secret) in production");
  if (env.CLEARING_RELAYER === 'sim') problems.push('CLEARING_RELAYER=sim relays through chain-sim, a development tool; set CLEARING_RELAYER=hermes (and HERMES_CONFIG) in production');
  return problems;
}
