/** An ABCI event as CometBFT's RPC returns it; attribute keys/values are base64 in 0.34 and plain text after. */
export interface RawAttribute {
  key: string;
  value: string | null;
  index?: boolean;
}
export interface RawEvent {
  type: string;
  attributes?: RawAttribute[] | null;
}

export type CometVersion = '0.34' | '0.37' | '0.38';

/** An event with decoded attributes; a repeated key keeps its first value (ibc-go never repeats packet keys). */
export interface AbciEvent {
  type: string;
  attributes: Map<string, string>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PLAIN_KEY = /^[a-z][a-z0-9_.]*$/;

/**
 * Whether attributes are base64 (CometBFT 0.34) or plain (0.37+). Used when a chain's comet_version is not
 * configured: plain keys are lower-case identifiers, while base64 of such an identifier contains upper case or
 * digits and decodes back to one.
 */
export function detectBase64Attributes(events: readonly RawEvent[]): boolean {
  for (const e of events) {
    for (const a of e.attributes ?? []) {
      if (PLAIN_KEY.test(a.key)) return false;
      if (BASE64.test(a.key) && PLAIN_KEY.test(Buffer.from(a.key, 'base64').toString('utf8'))) return true;
    }
  }
  return false;
}

/**
 * Decodes the attributes of `events`, or only of those whose type is in `only` (event types are plain text in every
 * CometBFT version, so the others are skipped without decoding anything).
 */
export function decodeEvents(events: readonly RawEvent[] | null | undefined, base64: boolean, only?: ReadonlySet<string>): AbciEvent[] {
  const wanted = only ? (events ?? []).filter((e) => only.has(e.type)) : (events ?? []);
  return wanted.map((e) => {
    const attributes = new Map<string, string>();
    for (const a of e.attributes ?? []) {
      const key = base64 ? Buffer.from(a.key, 'base64').toString('utf8') : a.key;
      const value = a.value == null ? '' : base64 ? Buffer.from(a.value, 'base64').toString('utf8') : a.value;
      if (!attributes.has(key)) attributes.set(key, value);
    }
    return { type: e.type, attributes };
  });
}
