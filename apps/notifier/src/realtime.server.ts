import type { Server as HttpServer } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { WalletTokens } from '@unstuck/auth';
import { createRedis } from '@unstuck/cache';
import { Database } from '@unstuck/db';
import { clientAddress, clientKey, metric, proxyTrust } from '@unstuck/observability';
import { ConnectionCounts } from './connection-counts';
import { NOTIFIER_ENV } from './tokens';
import type { AppEnv } from './env';
import { MissedUpdates } from './missed-updates';
import { parseTopic, TopicError, type Topic } from './topics';

/**
 * What a client receives: `batch` {room, messages}, at most one per room every NOTIFIER_BATCH_MS (at once when
 * the room had none for that long). The subscribe
 * answer maps each topic to its room (they differ only for `clearing:<token>`, whose room is named by the token's
 * SHA-256).
 */
export interface OutgoingMessage {
  /** JetStream stream sequence of the event: the offset to ask `replay` for what came after it. */
  seq: number;
  event: string;
  data: unknown;
  published_at: string;
}

interface SocketData {
  wallet?: string;
  ip: string;
  counted: boolean;
  topics: Set<string>;
  /** A replay is being answered (one at a time), and when the last ones were asked (a per-minute budget). */
  replaying?: boolean;
  replays?: number[];
}
type ClientSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>;


/**
 * The socket.io side of the notifier.
 *
 * - Websocket transport only: no sticky sessions are needed behind a load balancer.
 * - `@socket.io/redis-streams-adapter`: a message emitted by any instance reaches the room's sockets on every
 *   instance, and connection state recovery (NOTIFIER_RECOVERY_WINDOW_MS) replays what a briefly disconnected
 *   client missed. After a longer absence the client asks `replay` with the last `seq` it saw.
 * - Connection middleware: an optional bearer token from the gateway's sign-in (`auth.token`), and a per-IP
 *   connection limit counted in Redis across instances (seed 000's ConnectionLimiter).
 * - Per-socket topic cap; `wallet:` and `clearing:` rooms only for the signed-in owner.
 * - A client whose outgoing buffer passes NOTIFIER_MAX_BUFFERED_MESSAGES is told why and disconnected (seed 000's
 *   "send buffer full"), so one slow reader cannot grow the server's memory.
 * - High-rate topics are coalesced: a room gets at most one batch every NOTIFIER_BATCH_MS (seed 002's
 *   MessageBatcher); a quiet room's event goes out at once.
 */
@Injectable()
export class RealtimeServer implements OnApplicationShutdown {
  private readonly logger = new Logger('Realtime');
  private io: Server | undefined;
  private adapterRedis: Redis | undefined;
  private readonly tokens: WalletTokens;
  private readonly trust: (addr: string, hop: number) => boolean;
  private readonly pending = new Map<string, OutgoingMessage[]>();
  /** When each room last got a batch: a quiet room's next event goes out at once, a busy room's wait for the window. */
  private readonly lastSent = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private counts: ConnectionCounts | undefined;
  private checkTimer: NodeJS.Timeout | undefined;

  private readonly connections = metric.gauge({ name: 'notifier_connections', help: 'sockets connected to this instance' });
  private readonly messagesOut = metric.counter({ name: 'notifier_messages_out_total', help: 'events emitted to rooms, by topic kind', labelNames: ['kind'] });
  private readonly dropped = metric.counter({ name: 'notifier_clients_dropped_total', help: 'connections refused or closed by the server, by reason', labelNames: ['reason'] });
  private readonly lag = metric.histogram({
    name: 'notifier_delivery_lag_seconds',
    help: 'time from JetStream storing an event to its batch being emitted',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });

  constructor(
    @Inject(NOTIFIER_ENV) private readonly env: AppEnv,
    @Inject(Database) private readonly db: Database,
    @Inject(MissedUpdates) private readonly missed: MissedUpdates,
  ) {
    this.tokens = new WalletTokens(env.GATEWAY_SECRET);
    this.trust = proxyTrust(env.TRUST_PROXY);
    // Counted when scraped: every room but the one socket.io gives each socket (named by its id).
    const gauge = metric.gauge({
      name: 'notifier_rooms',
      help: 'rooms with at least one socket on this instance',
      collect: () => {
        const adapter = this.io?.of('/').adapter;
        if (!adapter) return;
        let rooms = 0;
        for (const room of adapter.rooms.keys()) if (!adapter.sids.has(room)) rooms += 1;
        gauge.set(rooms);
      },
    });
  }

  /** Attaches socket.io to the service's HTTP server (called before it listens). */
  attach(http: HttpServer): Server {
    this.adapterRedis = createRedis(this.env, 'notifier:adapter', { offlineQueue: true });
    this.counts = new ConnectionCounts(this.adapterRedis, this.env.NOTIFIER_MAX_CONNECTIONS_PER_IP, this.env.NOTIFIER_CONNECTION_TTL_MS);
    this.counts.start();
    const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>(http, {
      transports: ['websocket'],
      cors: { origin: this.env.CORS_ORIGINS },
      pingInterval: this.env.NOTIFIER_PING_INTERVAL_MS,
      pingTimeout: this.env.NOTIFIER_PING_TIMEOUT_MS,
      maxHttpBufferSize: 16 * 1024,
      connectionStateRecovery: { maxDisconnectionDuration: this.env.NOTIFIER_RECOVERY_WINDOW_MS, skipMiddlewares: false },
      adapter: createAdapter(this.adapterRedis, { streamName: 'unstuck:notifier:v1:socket.io', maxLen: 100_000 }),
    });
    this.io = io as unknown as Server;
    io.use((socket, next) => void this.admit(socket as ClientSocket).then(() => next(), (e: Error) => next(e)));
    io.on('connection', (socket) => this.onConnection(socket as ClientSocket));
    this.flushTimer = setInterval(() => this.flush(false), Math.max(5, Math.floor(this.env.NOTIFIER_BATCH_MS / 4)));
    this.checkTimer = setInterval(() => this.checkBuffers(), this.env.NOTIFIER_BUFFER_CHECK_MS);
    return this.io;
  }

  /** Queues an event for rooms; `flushDue` (or the timer) sends it. */
  publish(rooms: readonly string[], message: OutgoingMessage): void {
    for (const room of rooms) {
      const queue = this.pending.get(room);
      if (queue) queue.push(message);
      else this.pending.set(room, [message]);
    }
  }

  /**
   * Sends the queued events of every room that has had no batch for NOTIFIER_BATCH_MS: a room with an event now
   * and then gets it at once, a busy room at most one batch per window.
   */
  flushDue(): void {
    this.flush(false);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.checkTimer);
    this.flush(true);
    await new Promise<void>((resolve) => (this.io ? this.io.close(() => resolve()) : resolve()));
    await this.counts?.stop();
    this.adapterRedis?.disconnect();
  }

  private flush(all: boolean): void {
    if (!this.io) return;
    const now = Date.now();
    const window = this.env.NOTIFIER_BATCH_MS;
    for (const [room, messages] of this.pending) {
      if (!all && now - (this.lastSent.get(room) ?? 0) < window) continue;
      this.pending.delete(room);
      this.lastSent.set(room, now);
      this.io.to(room).emit('batch', { room, messages });
      const kind = room.slice(0, room.indexOf(':'));
      this.messagesOut.inc({ kind }, messages.length);
      for (const m of messages) this.lag.observe(Math.max(0, now - Date.parse(m.published_at)) / 1000);
    }
    // Rooms quiet for a while need no memory of their last batch.
    if (this.lastSent.size > 10_000) for (const [room, at] of this.lastSent) if (now - at > window) this.lastSent.delete(room);
  }

  /** Connection middleware: who (optional token) and from where (per-IP limit across instances). */
  private async admit(socket: ClientSocket): Promise<void> {
    // X-Forwarded-For only from a trusted proxy (TRUST_PROXY): a client connecting directly cannot pick its address.
    // Counted per IPv4 address, per IPv6 /64 (a host may use any address of its prefix).
    const ip = clientKey(clientAddress(socket.request, this.trust));
    socket.data.ip = ip;
    socket.data.topics = new Set();
    socket.data.counted = false;
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (token !== undefined) {
      const result = typeof token === 'string' ? await this.tokens.verify(token) : { error: 'the token must be a string' };
      if ('error' in result) {
        this.dropped.inc({ reason: 'invalid_token' });
        throw Object.assign(new Error(`invalid_token: ${result.error}`), { data: { code: 'invalid_token', message: result.error } });
      }
      socket.data.wallet = result.wallet;
    }
    let admitted: boolean;
    try {
      admitted = await this.counts!.admit(ip);
    } catch {
      return; // Redis cannot count: admit rather than refuse everyone.
    }
    if (!admitted) {
      this.dropped.inc({ reason: 'ip_limit' });
      const message = `too many connections from your address (limit ${this.env.NOTIFIER_MAX_CONNECTIONS_PER_IP})`;
      throw Object.assign(new Error(`too_many_connections: ${message}`), { data: { code: 'too_many_connections', message } });
    }
    socket.data.counted = true;
  }

  private onConnection(socket: ClientSocket): void {
    this.connections.inc();
    socket.on('disconnect', () => {
      this.connections.dec();
      if (socket.data.counted) void this.counts?.release(socket.data.ip).catch(() => undefined);
    });
    // A recovered session comes back with its rooms; its topic list must match.
    for (const room of socket.rooms) if (room !== socket.id) socket.data.topics.add(room);

    const on = (event: string, handler: (payload: unknown) => Promise<unknown>) =>
      (socket as unknown as Socket).on(event, (payload: unknown, ack?: unknown) => {
        void handler(payload).then(
          (answer) => typeof ack === 'function' && ack(answer),
          (e: Error) => {
            this.logger.warn(`${event} failed: ${e.message}`);
            if (typeof ack === 'function') ack({ error: { code: 'internal_error', message: 'the request failed; try again' } });
          },
        );
      });
    on('subscribe', (p) => this.subscribe(socket, p));
    on('unsubscribe', (p) => this.unsubscribe(socket, p));
    on('replay', (p) => this.replay(socket, p));
  }

  private topicsOf(payload: unknown): unknown[] | undefined {
    const topics = (payload as { topics?: unknown } | null)?.topics;
    return Array.isArray(topics) && topics.length <= 100 ? topics : undefined;
  }

  private async subscribe(socket: ClientSocket, payload: unknown) {
    const topics = this.topicsOf(payload);
    if (!topics) return { error: { code: 'invalid_request', message: 'send {"topics": ["packets:live", ...]} (at most 100)' } };
    const subscribed: Array<{ topic: string; room: string }> = [];
    const refused: Array<{ topic: unknown; code: string; message: string }> = [];
    for (const raw of topics) {
      let topic: Topic;
      try {
        topic = parseTopic(raw);
      } catch (e) {
        if (!(e instanceof TopicError)) throw e;
        refused.push({ topic: raw, code: e.code, message: e.message });
        continue;
      }
      const denied = await this.authorize(socket, topic);
      if (denied) {
        refused.push({ topic: raw, ...denied });
        continue;
      }
      if (!socket.data.topics.has(topic.room) && socket.data.topics.size >= this.env.NOTIFIER_MAX_TOPICS_PER_SOCKET) {
        refused.push({ topic: raw, code: 'too_many_topics', message: `at most ${this.env.NOTIFIER_MAX_TOPICS_PER_SOCKET} topics per connection` });
        continue;
      }
      socket.data.topics.add(topic.room);
      await socket.join(topic.room);
      subscribed.push({ topic: topic.topic, room: topic.room });
    }
    return { subscribed, refused };
  }

  private async unsubscribe(socket: ClientSocket, payload: unknown) {
    const topics = this.topicsOf(payload);
    if (!topics) return { error: { code: 'invalid_request', message: 'send {"topics": [...]}' } };
    const unsubscribed: string[] = [];
    for (const raw of topics) {
      try {
        const topic = parseTopic(raw);
        socket.data.topics.delete(topic.room);
        await socket.leave(topic.room);
        unsubscribed.push(topic.topic);
      } catch {
        // Leaving a topic that cannot exist changes nothing.
      }
    }
    return { unsubscribed };
  }

  /** `wallet:` for the signed-in owner only; `clearing:` only for the wallet that owns the operation. */
  private async authorize(socket: ClientSocket, topic: Topic): Promise<{ code: string; message: string } | undefined> {
    if (topic.kind !== 'wallet' && topic.kind !== 'clearing') return undefined;
    const wallet = socket.data.wallet;
    if (!wallet) return { code: 'authentication_required', message: `${topic.kind} topics need a signed-in wallet (connect with auth.token)` };
    if (topic.kind === 'wallet') return topic.wallet === wallet ? undefined : { code: 'forbidden', message: 'a wallet can follow only its own packets' };
    // From the primary: a client subscribes right after the clearing service created the token, before the
    // replica may have it.
    const [row] = await this.db.query<{ wallet_address: string }>(`SELECT wallet_address FROM clearing_tokens WHERE token_hash = $1`, [topic.tokenHash], 'primary');
    if (!row) return { code: 'not_found', message: 'no clearing operation has this token' };
    return row.wallet_address === wallet ? undefined : { code: 'forbidden', message: 'this clearing operation belongs to another wallet' };
  }

  /** What a topic missed since an offset, read back from JetStream (after a disconnect longer than the recovery window). */
  private async replay(socket: ClientSocket, payload: unknown) {
    const p = payload as { topic?: unknown; since?: unknown } | null;
    let topic: Topic;
    try {
      topic = parseTopic(p?.topic);
    } catch (e) {
      if (!(e instanceof TopicError)) throw e;
      return { error: { code: e.code, message: e.message } };
    }
    if (!socket.data.topics.has(topic.room)) return { error: { code: 'not_subscribed', message: 'subscribe to the topic before asking for its history' } };
    if (typeof p?.since !== 'number' || !Number.isSafeInteger(p.since) || p.since < 0) {
      return { error: { code: 'invalid_request', message: '"since" is the last seq received (a non-negative integer)' } };
    }
    // One replay in flight per socket, and NOTIFIER_REPLAYS_PER_MINUTE per socket: a replay scans the stream.
    if (socket.data.replaying) return { error: { code: 'replay_in_progress', message: 'wait for the answer to your previous replay before asking again' } };
    const now = Date.now();
    const recent = (socket.data.replays ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.env.NOTIFIER_REPLAYS_PER_MINUTE) {
      const retryAfterMs = 60_000 - (now - recent[0]!);
      socket.data.replays = recent;
      return { error: { code: 'rate_limited', message: `at most ${this.env.NOTIFIER_REPLAYS_PER_MINUTE} replays per minute; retry in ${Math.ceil(retryAfterMs / 1000)} s`, retry_after_ms: retryAfterMs } };
    }
    socket.data.replays = [...recent, now];
    socket.data.replaying = true;
    try {
      return await this.missed.since(topic, p.since, socket.data.wallet);
    } finally {
      socket.data.replaying = false;
    }
  }

  /** Seed 000's "send buffer full": a client that does not read is disconnected before it costs the server memory. */
  private checkBuffers(): void {
    if (!this.io) return;
    for (const socket of this.io.of('/').sockets.values()) {
      const conn = socket.conn as unknown as { writeBuffer?: unknown[]; transport?: { socket?: { bufferedAmount?: number } } };
      const queued = conn.writeBuffer?.length ?? 0;
      const bytes = conn.transport?.socket?.bufferedAmount ?? 0;
      if (queued > this.env.NOTIFIER_MAX_BUFFERED_MESSAGES || bytes > this.env.NOTIFIER_MAX_BUFFERED_BYTES) {
        this.logger.warn(`send buffer full for ${socket.id} (${queued} messages, ${bytes} bytes queued); disconnecting`);
        this.dropped.inc({ reason: 'send_buffer_full' });
        socket.emit('server_notice', { code: 'send_buffer_full', message: 'disconnected: you are not reading fast enough' });
        socket.disconnect(true);
      }
    }
  }

}
