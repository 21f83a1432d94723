/** The REST API on the same origin (the gateway serves this page). Errors carry the API's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let token: string | undefined = sessionStorage.getItem('unstuck.token') ?? undefined;
export const setToken = (t: string | undefined) => {
  token = t;
  if (t) sessionStorage.setItem('unstuck.token', t);
  else sessionStorage.removeItem('unstuck.token');
};
export const getToken = () => token;

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`/api/v1${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `request failed (${res.status})`);
  }
  return body as T;
}

export interface WebConfig {
  notifier_url: string | null;
  demo_wallet: { enabled: boolean; mnemonic?: string; prefix?: string };
  /** Chains whose clearing payments the page can sign and broadcast (their RPC and gas price). */
  payment_chains: Array<{ chain_id: string; rpc: string; gas_price: string }>;
}

export interface StuckPacket {
  src_chain_id: string;
  src_port: string;
  src_channel: string;
  sequence: string;
  dst_chain_id: string | null;
  stuck_kind: 'awaiting_recv' | 'awaiting_ack' | 'timeout_pending' | null;
  sender: string | null;
  receiver: string | null;
  denom: string | null;
  amount: string | null;
  role: 'sender' | 'receiver';
  age_seconds: number;
  seconds_to_timeout: number | null;
}
