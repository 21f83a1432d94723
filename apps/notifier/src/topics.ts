import { createHash } from 'node:crypto';
import { InvalidWalletError, parseWallet } from '@unstuck/packets';

/**
 * The rooms a browser can join (DESIGN.md): `packets:live`, `platform:stats`, `channel:<chain>/<channel>`,
 * `wallet:<address>` (signed-in, own wallet only), `clearing:<token>` (signed-in, own operation only).
 *
 * A clearing room is keyed by the SHA-256 of its one-time token, as events carry only the hash: the topic a client
 * names (`clearing:<token>`) and the room the server joins differ, and the token never reaches the logs or Redis.
 */
export type Topic =
  | { kind: 'packets'; topic: 'packets:live'; room: 'packets:live' }
  | { kind: 'platform'; topic: 'platform:stats'; room: 'platform:stats' }
  | { kind: 'channel'; topic: string; room: string; chainId: string; channel: string }
  | { kind: 'wallet'; topic: string; room: string; wallet: string }
  | { kind: 'clearing'; topic: string; room: string; tokenHash: string };

export class TopicError extends Error {
  constructor(
    readonly code: 'invalid_topic' | 'invalid_address' | 'unknown_address_prefix',
    message: string,
  ) {
    super(message);
  }
}

const CHAIN = /^[A-Za-z0-9._-]{1,64}$/;
const CHANNEL = /^channel-[0-9]{1,19}$/;
const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

/** Parses a topic a client asked for; anything outside the allowed patterns is refused with a reason. */
export function parseTopic(input: unknown): Topic {
  if (typeof input !== 'string' || input.length === 0 || input.length > 200) throw new TopicError('invalid_topic', 'a topic is a string of at most 200 characters');
  if (input === 'packets:live') return { kind: 'packets', topic: input, room: input };
  if (input === 'platform:stats') return { kind: 'platform', topic: input, room: input };
  const i = input.indexOf(':');
  const prefix = i < 0 ? '' : input.slice(0, i);
  const rest = i < 0 ? '' : input.slice(i + 1);
  if (prefix === 'channel') {
    const [chainId, channel, extra] = rest.split('/');
    if (!chainId || !channel || extra !== undefined || !CHAIN.test(chainId) || !CHANNEL.test(channel)) {
      throw new TopicError('invalid_topic', `"${input}" is not channel:<chain-id>/channel-<n>`);
    }
    return { kind: 'channel', topic: input, room: `channel:${chainId}/${channel}`, chainId, channel };
  }
  if (prefix === 'wallet') {
    try {
      const { address } = parseWallet(rest);
      return { kind: 'wallet', topic: `wallet:${address}`, room: `wallet:${address}`, wallet: address };
    } catch (e) {
      if (e instanceof InvalidWalletError) throw new TopicError(e.code, e.message);
      throw e;
    }
  }
  if (prefix === 'clearing') {
    if (!TOKEN.test(rest)) throw new TopicError('invalid_topic', `"clearing:" takes the operation's one-time token`);
    const hash = tokenHash(rest);
    return { kind: 'clearing', topic: input, room: `clearing:${hash}`, tokenHash: hash };
  }
  throw new TopicError('invalid_topic', `unknown topic "${input}"; topics are packets:live, platform:stats, channel:<chain>/<channel>, wallet:<address>, clearing:<token>`);
}

/** A packet event's rooms: the live feed, its source channel, and the wallets it names. */
export function packetRooms(payload: { packet: { src_chain_id: string; src_channel: string }; sender?: string; receiver?: string; transfer?: { sender?: string; receiver?: string } | null }, wallets: Iterable<string> = []): string[] {
  const rooms = new Set<string>(['packets:live', `channel:${payload.packet.src_chain_id}/${payload.packet.src_channel}`]);
  for (const w of [payload.sender, payload.receiver, payload.transfer?.sender, payload.transfer?.receiver, ...wallets]) if (w) rooms.add(`wallet:${w}`);
  return [...rooms];
}

/** A stats update's rooms: platform totals and per-channel figures. */
export function statsRooms(payload: { scope: string; key: string }): string[] {
  if (payload.scope === 'platform') return ['platform:stats'];
  if (payload.scope === 'channel') return [`channel:${payload.key}`];
  return [];
}
