import { Client } from 'pg';

/**
 * One follower per chain across all ingest replicas: a session-level PostgreSQL advisory lock per chain, held on a
 * dedicated connection. When the holder dies its connection closes, the lock is released, and another replica
 * takes the chain at its next check (seconds). When this connection breaks, every lease is reported lost.
 */
export class ChainLeases {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly held = new Set<string>();

  constructor(
    private readonly databaseUrl: string,
    private readonly onLost: (chainId: string) => void,
  ) {}

  holds(chainId: string): boolean {
    return this.held.has(chainId);
  }

  async tryAcquire(chainId: string): Promise<boolean> {
    if (this.held.has(chainId)) return true;
    const client = await this.connection();
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok`, [`unstuck:ingest:${chainId}`]);
    if (rows[0]?.ok) this.held.add(chainId);
    return this.held.has(chainId);
  }

  async release(chainId: string): Promise<void> {
    if (!this.held.delete(chainId) || !this.client) return;
    await this.client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [`unstuck:ingest:${chainId}`]).catch(() => undefined);
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
      const client = new Client({ connectionString: this.databaseUrl, application_name: 'unstuck:ingest-leases', keepAlive: true, connectionTimeoutMillis: 5_000 });
      const lost = () => {
        if (this.client !== client) return;
        this.client = undefined;
        const chains = [...this.held];
        this.held.clear();
        for (const c of chains) this.onLost(c);
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
