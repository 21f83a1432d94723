import { z } from 'zod';

/** Thrown at boot when the environment is unusable; the message lists every bad variable, not just the first. */
export class EnvValidationError extends Error {
  constructor(readonly problems: ReadonlyArray<{ variable: string; problem: string }>) {
    super(
      `Invalid environment (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.variable}: ${p.problem}`).join('\n'),
    );
    this.name = 'EnvValidationError';
  }
}

/**
 * Validates `env` against a shape of zod schemas keyed by variable name and returns the typed, defaulted values.
 * Each library exports the shape of the variables it reads; an app spreads together the shapes it uses, so one
 * mechanism validates everything once, at boot.
 */
export function loadEnv<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  // Empty strings mean "unset" so that `FOO=` in a .env file falls back to the default instead of failing.
  const input: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = z.object(shape).safeParse(input);
  if (!parsed.success) {
    throw new EnvValidationError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '?'), problem: issue.message })),
    );
  }
  return parsed.data;
}

/** The validated, defaulted values of an environment shape: what loadEnv returns for it. */
export type EnvOf<S extends z.ZodRawShape> = z.infer<z.ZodObject<S>>;

/** Schemas for the kinds of values environment variables hold. */
export const envVar = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback),
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(fallback),
  number: (fallback: number, min = 0, max = Number.MAX_VALUE) => z.coerce.number().min(min).max(max).default(fallback),
  string: (fallback: string) => z.string().min(1).default(fallback),
  optionalString: () => z.string().min(1).optional(),
  url: (fallback: string, protocols: readonly string[]) =>
    z
      .string()
      .url()
      .refine((u) => protocols.includes(new URL(u).protocol.replace(/:$/, '')), {
        message: `must use one of the protocols ${protocols.join(', ')}`,
      })
      .default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], {
        errorMap: () => ({ message: 'must be one of true, false, 1, 0, yes, no' }),
      })
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(fallback ? 'true' : 'false'),
  enum: <T extends [string, ...string[]]>(values: T, fallback: T[number]) => z.enum(values).default(fallback),
  list: (fallback: string[]) =>
    z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      )
      .default(fallback.join(',')),
};

/** Variables every service reads. */
export const serviceEnvShape = {
  NODE_ENV: envVar.enum(['development', 'test', 'production'], 'development'),
  LOG_LEVEL: envVar.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  HTTP_HOST: envVar.string('0.0.0.0'),
  /** How long graceful shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: envVar.int(15_000, 0, 600_000),
  /**
   * Whose X-Forwarded-For to believe (the client address for rate limits and logs): `true` (anyone — only behind
   * a proxy that overwrites the header), `false`, a number of proxy hops, or addresses/CIDRs, comma-separated, with
   * proxy-addr's names `loopback`, `linklocal`, `uniquelocal`. The default trusts proxies on private networks (a
   * Kubernetes ingress, a local load balancer), so a client reaching the service directly cannot pick its address.
   */
  TRUST_PROXY: envVar.string('loopback,linklocal,uniquelocal'),
};

/** TRUST_PROXY as Fastify's `trustProxy` option. */
export function trustProxyOption(value: string): boolean | number | string {
  const v = value.trim();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}
