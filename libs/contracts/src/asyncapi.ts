import { EVENTS, EVENT_NAMES } from './registry';
import { DEAD_LETTER_HEADERS, STREAMS, SUBJECT_ROOT } from './subjects';

/** JSON Schema without TypeBox's symbol-keyed metadata. */
const plain = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema));

const pascal = (s: string) =>
  s
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/** Builds the AsyncAPI 3.0 document for every event in the registry; written to docs/ by `npm run docs:events`. */
export function buildAsyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  for (const name of EVENT_NAMES) {
    const def = EVENTS[name];
    const id = `${name}.v${def.version}`;
    const messageName = `${pascal(name)}V${def.version}`;
    schemas[messageName] = plain(def.schema);
    messages[messageName] = {
      name: messageName,
      title: id,
      summary: def.summary,
      contentType: 'application/json',
      headers: {
        type: 'object',
        properties: {
          'Nats-Msg-Id': {
            type: 'string',
            description: 'deterministic id; JetStream stores a repeated id once within the stream duplicate window',
          },
        },
      },
      payload: { $ref: `#/components/schemas/${messageName}` },
    };
    channels[id] = {
      address: [SUBJECT_ROOT, name, `v${def.version}`, ...def.tokens.map((t) => `{${t}}`)].join('.'),
      description: `${def.summary} Stored in JetStream stream ${STREAMS[def.stream].name}.`,
      parameters: Object.fromEntries(
        def.tokens.map((t) => [t, { description: `${t}, as a subject token (characters outside [A-Za-z0-9_-] as ~XX hex)` }]),
      ),
      messages: { [messageName]: { $ref: `#/components/messages/${messageName}` } },
    };
    operations[`publish.${id}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${id}` },
      messages: [{ $ref: `#/channels/${id}/messages/${messageName}` }],
    };
  }

  channels['dlq.v1'] = {
    address: `${SUBJECT_ROOT}.dlq.v1.{stream}.{consumer}`,
    description:
      'Messages a durable consumer could not process (schema-invalid, poison, still failing at max_deliver, or never ' +
      'ready within its waiting budget). The body ' +
      'is the original message; headers carry the reason.',
    parameters: { stream: { description: 'stream name' }, consumer: { description: 'durable consumer name' } },
    messages: {
      DeadLetter: {
        name: 'DeadLetter',
        contentType: 'application/json',
        headers: {
          type: 'object',
          properties: Object.fromEntries(Object.values(DEAD_LETTER_HEADERS).map((h) => [h, { type: 'string' }])),
        },
        payload: {},
      },
    },
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Unstuck events',
      version: '1.0.0',
      description:
        'Events Unstuck publishes on NATS JetStream. Subjects are `unstuck.<domain>.<event>.v<version>.<tokens>`; ' +
        'tap with wildcards, e.g. `unstuck.packet.*.v1.cosmoshub-4.>` for every packet event of one chain, or ' +
        '`unstuck.packet.sent.v1.>` for every send. Generated from libs/contracts by `npm run docs:events`.',
    },
    defaultContentType: 'application/json',
    servers: { local: { host: '127.0.0.1:54222', protocol: 'nats', description: 'npm run infra:up' } },
    channels,
    operations,
    components: { messages, schemas },
  };
}
