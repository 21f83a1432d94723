import { z } from 'zod';
import { envVar, type EnvOf } from '@unstuck/config';
import { browserFacingEnvShape, platformEnvShape } from '@unstuck/platform';
import { authEnvShape, internalEnvShape } from '@unstuck/auth';


function isOrigin(v: string): boolean {
  try {
    return new URL(v).origin === v;
  } catch {
    return false;
  }
}

export const envShape = {
  ...platformEnvShape,
  GATEWAY_PORT: envVar.port(3000),
  ...authEnvShape,
  ...internalEnvShape,
  ...browserFacingEnvShape,
  BODY_LIMIT_BYTES: envVar.int(16 * 1024, 256, 10 * 1024 * 1024),
  /** A request's headers and body must have arrived within this, else 408 and the connection is closed (slow clients). */
  HTTP_REQUEST_TIMEOUT_MS: envVar.int(10_000, 500, 300_000),
  AUTH_CHALLENGE_TTL_SECONDS: envVar.int(300, 1, 3600),
  /**
   * The site users sign in on (scheme, host, port: an origin): the sign-in text names its domain and origin, and a
   * browser request from another origin (not this nor a CORS origin) is refused.
   */
  AUTH_SITE_ORIGIN: z
    .string()
    .default('http://localhost:3000')
    .refine(isOrigin, 'must be an origin: scheme://host[:port], no path or trailing slash'),
  AUTH_TOKEN_TTL_SECONDS: envVar.int(3600, 60, 86_400),
  RATE_LIMIT_WINDOW_MS: envVar.int(60_000, 1000),
  /** Requests per window from one IP address (anonymous callers). */
  RATE_LIMIT_PER_IP: envVar.int(600, 1),
  /** Requests per window for one signed-in wallet, whatever IP they come from. */
  RATE_LIMIT_PER_WALLET: envVar.int(300, 1),
  /**
   * Rate-limit counts are kept per replica and summed in Redis this often: replicas together may admit up to this
   * long of each other's requests beyond a limit.
   */
  RATE_LIMIT_SYNC_MS: envVar.int(100, 10, 10_000),
  /** A wallet's stuck packets in cache; invalidated by that wallet's packet events, so this only bounds staleness if an event is missed. */
  CACHE_STUCK_TTL_SECONDS: envVar.int(300, 1),
  CACHE_CHANNEL_STATS_TTL_SECONDS: envVar.int(900, 1),
  CACHE_STATS_TTL_SECONDS: envVar.int(60, 1),
  /** After a wallet's data changes, its reads go to the primary for this long (read-your-writes past replica lag). */
  READ_YOUR_WRITES_SECONDS: envVar.int(10, 0, 3600),
  /** Stuck packets of one wallet served at most (the cache holds the whole set). */
  STUCK_LIST_MAX: envVar.int(1000, 10, 100_000),
  /**
   * The in-memory index of wallets that may have stuck packets (the others are answered without I/O) is rebuilt
   * from the database this often, a safety net (events keep it current); 0 turns the index off. Above
   * STUCK_INDEX_MAX_WALLETS it turns itself off.
   */
  STUCK_INDEX_REFRESH_SECONDS: envVar.int(900, 0),
  STUCK_INDEX_MAX_WALLETS: envVar.int(2_000_000, 1),
  /** Database breaker: the share of failing calls that opens it, and how long it stays open. */
  DB_BREAKER_ERROR_PERCENT: envVar.int(50, 1, 100),
  DB_BREAKER_RESET_MS: envVar.int(5_000, 100),
  /** Where browsers reach the notifier; empty: the page's host on port 3004. */
  WEB_NOTIFIER_URL: z.string().default(''),
  /** Development only: the dashboard offers a demo wallet that signs in from WEB_DEMO_MNEMONIC (refused in production). */
  WEB_DEMO_WALLET: envVar.bool(false),
  /**
   * Where the dashboard broadcasts a clearing payment signed in the browser (Keplr, or the demo wallet):
   * `chain_id=rpc-url` pairs, comma-separated, reachable from browsers (CORS allowed). Empty: the dashboard only
   * shows the payment instructions.
   */
  WEB_PAYMENT_RPCS: envVar.list([]),
  WEB_DEMO_MNEMONIC: z.string().default('surround miss nominee dream gap cross assault thank captain prosper drop duty group candy wealth weather scale put'),
  /** The dashboard build served at `/` when present. */
  WEB_DIST_DIR: z.string().default('dist/apps/web'),
  /** Packet events wait at most this long for ingest to commit their block before invalidating caches anyway. */
  GATEWAY_COMMIT_WAIT_MS: envVar.int(5_000, 0),
  /** The clearing service's internal API (quotes and payment verification go there). */
  CLEARING_URL: envVar.string('http://127.0.0.1:3001'),
  CLEARING_TIMEOUT_MS: envVar.int(30_000, 100),
};

export type AppEnv = EnvOf<typeof envShape>;
