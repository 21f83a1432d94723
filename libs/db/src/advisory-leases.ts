import { Client } from 'pg';

/**
 * Leases that one replica among many holds at a time (ingest: one follower per chain; stats: one leader for the
 * scheduled jobs): a session-level PostgreSQL advisory lock per name, held on a dedicated connection. When the
 * holder dies its connection closes, the lock is released, and another replica takes the lease at its next try
 * (seconds). When this connection breaks, every lease is reported lost.
 */
export class AdvisoryLeases {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly held = new Set<string>();

  constructor(
    private readonly databaseUrl: string,
    /** Keeps the lock keys of different users apart: `unstuck:<namespace>:<name>`. */
    private readonly namespace: string,
    private readonly onLost: (name: string) => void,
  ) {}

  holds(name: string): boolean {
    return this.held.has(name);
  }

  async tryAcquire(name: string): Promise<boolean> {
    if (this.held.has(name)) return true;
    const client = await this.connection();
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok`, [this.key(name)]);
    if (rows[0]?.ok) this.held.add(name);
    return this.held.has(name);
  }

  async release(name: string): Promise<void> {
    if (!this.held.delete(name) || !this.client) return;
    await this.client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [this.key(name)]).catch(() => undefined);
  }

  private key(name: string): string {
    return `unstuck:${this.namespace}:${name}`;
  }

  async close(): Promise<void> {
    this.held.clear();
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private connection(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.databaseUrl, application_name: `unstuck:${this.namespace}-leases`, keepAlive: true, connectionTimeoutMillis: 5_000 });
      const lost = () => {
        if (this.client !== client) return;
        this.client = undefined;
        const lost = [...this.held];
        this.held.clear();
        for (const n of lost) this.onLost(n);
      };
      client.on('error', lost);
      client.on('end', lost);
      await client.connect();
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }
}
