import { Agent, request, type Dispatcher } from 'undici';

/** An HTTP answer outside 2xx; `status` lets isTransientError tell a 503 from a 400. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly body: string,
    /** The answer's Retry-After header (429, 503), as sent. */
    readonly retryAfter?: string,
  ) {
    super(`HTTP ${status} from ${url}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'HttpError';
  }
}

export interface HttpClientOptions {
  /** Connections kept per origin. */
  connections: number;
  keepAliveTimeoutMs: number;
  /** Time allowed to connect, and then for the whole answer. */
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Answers larger than this fail with UND_ERR_RES_EXCEEDED_MAX_SIZE (-1: no limit). */
  maxResponseBytes?: number;
}

export const DEFAULT_HTTP_CLIENT: HttpClientOptions = {
  connections: 32,
  keepAliveTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
};

/** JSON over HTTP with pooled keep-alive connections (seed 003 task 1.7): one TCP/TLS handshake per connection, not per call. */
export class KeepAliveHttpClient {
  private readonly agent: Agent;
  private readonly options: HttpClientOptions;

  constructor(options: Partial<HttpClientOptions> = {}) {
    this.options = { ...DEFAULT_HTTP_CLIENT, ...options };
    this.agent = new Agent({
      connections: this.options.connections,
      keepAliveTimeout: this.options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(this.options.keepAliveTimeoutMs, 600_000),
      connect: { timeout: this.options.connectTimeoutMs },
      headersTimeout: this.options.requestTimeoutMs,
      bodyTimeout: this.options.requestTimeoutMs,
      maxResponseSize: this.options.maxResponseBytes ?? -1,
    });
  }

  async getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
    return parseJson<T>(url, await this.send(url, { method: 'GET', signal }));
  }

  async postJson<T>(url: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return parseJson<T>(url, await this.send(url, postOptions(body, signal)));
  }

  /**
   * POSTs `body` as JSON and returns the 2xx answer's bytes, undecoded: one buffer of its own (not pooled), which a
   * caller can transfer to a worker thread that decodes and parses it there.
   */
  async postBytes(url: string, body: unknown, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
    const res = await this.request(url, postOptions(body, signal));
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const retryAfter = res.headers['retry-after'];
      throw new HttpError(res.statusCode, url, await res.body.text(), Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    }
    return new Uint8Array(await res.body.arrayBuffer());
  }

  private async send(url: string, opts: RequestOptions): Promise<string> {
    const res = await this.request(url, opts);
    const text = await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new HttpError(res.statusCode, url, text);
    return text;
  }

  private request(url: string, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
    return request(url, { ...opts, dispatcher: this.agent, headers: { accept: 'application/json', ...opts.headers } });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path'>;

function postOptions(body: unknown, signal: AbortSignal | undefined): RequestOptions {
  return { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal };
}

/** A 2xx answer's text as JSON; text that is not JSON is an HttpError naming the URL. */
export function parseJson<T>(url: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HttpError(200, url, `invalid JSON: ${text.slice(0, 100)}`);
  }
}
