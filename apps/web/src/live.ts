import { io, type Socket } from 'socket.io-client';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';
export interface LiveMessage {
  seq: number;
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  published_at: string;
}
type Listener = (messages: LiveMessage[], room: string) => void;

/**
 * The notifier connection: websocket only, reconnecting with exponential backoff and full jitter (seed 000's
 * client: 1 s doubling to 30 s), resubscribing every topic on reconnect and asking `replay` for what a topic missed
 * when the server could not recover the session.
 */
export class Live {
  private socket: Socket | undefined;
  private readonly topics = new Map<string, { room: string; lastSeq: number }>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private attempt = 0;
  private timer: number | undefined;
  private token: string | undefined;

  constructor(
    private readonly url: string,
    private readonly onState: (state: ConnectionState, detail?: string) => void,
  ) {}

  connect(token?: string): void {
    this.token = token;
    this.open();
  }

  /** Reconnects with another identity (after sign-in). */
  reconnectAs(token: string | undefined): void {
    this.token = token;
    this.socket?.disconnect();
    this.open();
  }

  async subscribe(topic: string, listener: Listener): Promise<string | undefined> {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    if (!this.topics.has(topic)) this.topics.set(topic, { room: topic, lastSeq: 0 });
    return this.socket?.connected ? this.join([topic]) : undefined;
  }

  unsubscribe(topic: string, listener: Listener): void {
    const set = this.listeners.get(topic);
    set?.delete(listener);
    if (set && set.size === 0) {
      this.listeners.delete(topic);
      this.topics.delete(topic);
      this.socket?.emit('unsubscribe', { topics: [topic] });
    }
  }

  private open(): void {
    window.clearTimeout(this.timer);
    this.onState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = io(this.url, { transports: ['websocket'], reconnection: false, auth: this.token ? { token: this.token } : {} });
    this.socket = socket;
    socket.on('connect', () => {
      this.attempt = 0;
      this.onState('live');
      void this.join([...this.topics.keys()], !socket.recovered);
    });
    socket.on('batch', (b: { room: string; messages: LiveMessage[] }) => this.deliver(b.room, b.messages));
    const retry = (why: string) => {
      if (this.socket !== socket) return;
      this.attempt += 1;
      const delay = Math.random() * Math.min(30_000, 1_000 * 2 ** (this.attempt - 1));
      this.onState('offline', `${why}; retrying in ${Math.ceil(delay / 1000)} s`);
      this.timer = window.setTimeout(() => this.open(), delay);
    };
    socket.on('connect_error', (e) => retry(e.message));
    socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') retry(reason);
    });
  }

  private async join(topics: string[], replay = false): Promise<string | undefined> {
    if (!this.socket || topics.length === 0) return undefined;
    const answer = (await this.socket.emitWithAck('subscribe', { topics })) as {
      subscribed?: Array<{ topic: string; room: string }>;
      refused?: Array<{ topic: string; message: string }>;
    };
    for (const s of answer.subscribed ?? []) {
      const t = this.topics.get(s.topic);
      if (!t) continue;
      t.room = s.room;
      if (replay && t.lastSeq > 0) {
        const missed = (await this.socket.emitWithAck('replay', { topic: s.topic, since: t.lastSeq })) as { messages?: LiveMessage[] };
        if (missed.messages?.length) this.deliver(s.room, missed.messages);
      }
    }
    return answer.refused?.[0]?.message;
  }

  private deliver(room: string, messages: LiveMessage[]): void {
    for (const [topic, t] of this.topics) {
      if (t.room !== room) continue;
      t.lastSeq = Math.max(t.lastSeq, ...messages.map((m) => m.seq));
      for (const l of this.listeners.get(topic) ?? []) l(messages, room);
    }
  }
}
