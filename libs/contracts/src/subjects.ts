/**
 * NATS subject layout: `unstuck.<domain>.<event>.v<version>.<token>...`
 *
 * The version sits right after the event name so one event can evolve without touching the others, and the
 * routing tokens come last so an integration can tap with wildcards, e.g.
 *   every packet event of one chain:  unstuck.packet.*.v1.cosmoshub-4.>
 *   every send on every chain:        unstuck.packet.sent.v1.>
 *   everything about packets:         unstuck.packet.>
 */
export const SUBJECT_ROOT = 'unstuck';

/**
 * Encodes a value as one subject token. NATS tokens cannot hold '.', whitespace, '*' or '>'; everything outside
 * [A-Za-z0-9_-] is written as ~XX (hex), so the encoding is reversible and common chain ids, channel ids and
 * bech32 addresses pass through unchanged.
 */
export function encodeSubjectToken(value: string): string {
  if (value.length === 0) throw new Error('a subject token cannot be empty');
  return value.replace(/[^A-Za-z0-9_-]/g, (ch) =>
    Array.from(Buffer.from(ch, 'utf8'))
      .map((b) => `~${b.toString(16).padStart(2, '0')}`)
      .join(''),
  );
}

export function decodeSubjectToken(token: string): string {
  return Buffer.from(
    token.replace(/~([0-9a-f]{2})|[^~]/g, (m, hex: string | undefined) =>
      hex ? String.fromCharCode(parseInt(hex, 16)) : m,
    ),
    'latin1',
  ).toString('utf8');
}

/** JetStream streams, declared here so that publishers, consumers and the AsyncAPI document agree. */
export const STREAMS = {
  PACKETS: { name: 'UNSTUCK_PACKETS', subjects: [`${SUBJECT_ROOT}.packet.>`], description: 'packet lifecycle events' },
  CLEARING: { name: 'UNSTUCK_CLEARING', subjects: [`${SUBJECT_ROOT}.clearing.>`], description: 'clearing operations' },
  STATS: { name: 'UNSTUCK_STATS', subjects: [`${SUBJECT_ROOT}.stats.>`], description: 'statistics updates' },
  DEAD_LETTER: {
    name: 'UNSTUCK_DLQ',
    subjects: [`${SUBJECT_ROOT}.dlq.>`],
    description: 'messages a consumer could not process, with the reason in headers',
  },
} as const;
export type StreamKey = keyof typeof STREAMS;

/** Dead-letter subject for one consumer: `unstuck.dlq.v1.<stream>.<durable>`. */
export function deadLetterSubject(stream: string, durable: string): string {
  return `${SUBJECT_ROOT}.dlq.v1.${encodeSubjectToken(stream)}.${encodeSubjectToken(durable)}`;
}

/** Headers a dead-lettered message carries. */
export const DEAD_LETTER_HEADERS = {
  reason: 'Unstuck-Dlq-Reason',
  detail: 'Unstuck-Dlq-Detail',
  originalSubject: 'Unstuck-Dlq-Subject',
  stream: 'Unstuck-Dlq-Stream',
  streamSequence: 'Unstuck-Dlq-Stream-Seq',
  deliveries: 'Unstuck-Dlq-Deliveries',
  consumer: 'Unstuck-Dlq-Consumer',
} as const;
