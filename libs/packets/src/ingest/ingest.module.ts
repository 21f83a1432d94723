import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { envVar, type EnvOf } from '@unstuck/config';
import { AdvisoryLeases, Database, DB_ENV, type DbEnv } from '@unstuck/db';
import { EventPublisher, JetStreamConnection } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import { GroupCommitter, PacketStore } from '../store/packet-store';
import { BlockDecoder } from './block-decoder';
import { ChannelResolver } from './channel-resolver';
import { ChainFollower } from './chain-follower';
import { loadChainsConfig, type ChainConfig } from './chains-config';
import { CometRpcClient } from './comet-rpc-client';
import { CounterpartyDirectory } from './counterparty-directory';
import { Reconciler } from './reconciler';
import { endpointLabel } from './rpc/rpc-endpoint';

export const ingestEnvShape = {
  CHAINS_FILE: envVar.string('config/chains.yaml'),
  INGEST_BATCH_BLOCKS: envVar.int(20, 1, 500),
  INGEST_POLL_INTERVAL_MS: envVar.int(1_000, 50, 60_000),
  INGEST_RPC_TIMEOUT_MS: envVar.int(10_000, 100, 120_000),
  INGEST_RPC_ATTEMPTS: envVar.int(3, 1, 10),
  /** Budget per RPC endpoint in HTTP requests per second (public nodes allow ~10–50 per client); 0 = none. A chain's requests_per_second overrides it. */
  INGEST_RPC_REQUESTS_PER_SECOND: envVar.int(20, 0, 100_000),
  /** Requests per JSON-RPC batch until a node states its limit (then the node's max_request_batch_size). */
  INGEST_RPC_BATCH_REQUESTS: envVar.int(40, 1, 1_000),
  /** HTTP requests in flight per endpoint. */
  INGEST_RPC_CONCURRENCY: envVar.int(4, 1, 64),
  /** How often each endpoint's /status (network, sync, earliest and latest height, tx_index) is checked. */
  INGEST_RPC_HEALTH_INTERVAL_MS: envVar.int(10_000, 500, 600_000),
  /** Larger answers are refused and the batch halved. */
  INGEST_RPC_MAX_ANSWER_BYTES: envVar.int(256 * 1024 * 1024, 1024 * 1024, 2 ** 31 - 1),
  /** How often a replica tries to take over chains no replica follows. */
  INGEST_LEASE_CHECK_MS: envVar.int(2_000, 100, 60_000),
  /**
   * How often the reconciler (one replica: the `:reconciler` lease) compares the chains' pending packets with what
   * ingest stored, and records the ones it had not seen (0: never).
   */
  INGEST_RECONCILE_SECONDS: envVar.int(300, 0, 86_400),
  /** Packets the reconciler backfills per channel per pass at most. */
  INGEST_RECONCILE_BACKFILL_PER_CHANNEL: envVar.int(100, 1, 10_000),
  /** A packet held as pending that the chains moved on is repaired once it was sent this long ago (ingest may be behind). */
  INGEST_RECONCILE_REPAIR_AFTER_SECONDS: envVar.int(600, 0, 30 * 86_400),
  /** Worker threads that parse blocks; 0 parses on the main thread. */
  INGEST_DECODE_THREADS: envVar.int(2, 0, 16),
  /** Transactions that write batches at once (group commit lanes); 1 is a single writer. */
  INGEST_WRITERS: envVar.int(2, 1, 8),
};
export type IngestEnv = EnvOf<typeof ingestEnvShape>;

const INGEST_ENV = Symbol('INGEST_ENV');
/** The reconciler's lease name (no chain id starts with a colon). */
const RECONCILER_LEASE = ':reconciler';
const CHAINS = Symbol('CHAINS');

/** Runs a follower for every chain this replica holds the lease of, and takes over chains whose holder died. */
@Injectable()
export class IngestService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Ingest');
  private readonly followers = new Map<string, ChainFollower>();
  private readonly clients = new Map<string, CometRpcClient>();
  private readonly leases: AdvisoryLeases;
  private readonly store: PacketStore;
  private readonly writer: GroupCommitter;
  private readonly decoder: BlockDecoder;
  private readonly channels: ChannelResolver;
  private channelsLoaded = false;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly reconciler: Reconciler;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private firstReconcile: NodeJS.Timeout | undefined;
  private reconciling = false;
  /** The reconciler's own RPC clients (it reads chains other replicas may follow), with the same budgets. */
  private readonly readers = new Map<string, CometRpcClient>();
  private readonly held = metric.gauge({ name: 'ingest_chains_followed', help: 'chains this replica follows' });

  constructor(
    @Inject(INGEST_ENV) private readonly env: IngestEnv,
    @Inject(CHAINS) private readonly chains: ChainConfig[],
    @Inject(DB_ENV) dbEnv: DbEnv,
    @Inject(Database) db: Database,
    @Inject(EventPublisher) private readonly publisher: EventPublisher,
    @Inject(JetStreamConnection) private readonly connection: JetStreamConnection,
    @Inject(CounterpartyDirectory) directory: CounterpartyDirectory,
  ) {
    this.store = new PacketStore(db);
    this.writer = new GroupCommitter(this.store, undefined, env.INGEST_WRITERS);
    this.decoder = new BlockDecoder(env.INGEST_DECODE_THREADS, directory);
    this.channels = new ChannelResolver(db, directory);
    this.leases = new AdvisoryLeases(dbEnv.DATABASE_URL, 'ingest', (chainId) => {
      this.logger.warn(`lost the lease of ${chainId}`);
      if (chainId !== RECONCILER_LEASE) void this.stopFollower(chainId);
    });
    this.reconciler = new Reconciler(chains, (chainId) => this.readerFor(chainId), directory, db, this.store, this.decoder, publisher, {
      backfillPerChannel: env.INGEST_RECONCILE_BACKFILL_PER_CHANNEL,
      repairAfterMs: env.INGEST_RECONCILE_REPAIR_AFTER_SECONDS * 1000,
      pageSize: 1_000,
      maxPages: 100,
    });
  }

  private readerFor(chainId: string): CometRpcClient {
    let client = this.readers.get(chainId);
    if (client) return client;
    const chain = this.chains.find((c) => c.chain_id === chainId);
    if (!chain) throw new Error(`${chainId} is not in the chains file`);
    client = new CometRpcClient(chainId, chain.rpc, {
      timeoutMs: this.env.INGEST_RPC_TIMEOUT_MS,
      attempts: this.env.INGEST_RPC_ATTEMPTS,
      requestsPerSecond: chain.requests_per_second ?? this.env.INGEST_RPC_REQUESTS_PER_SECOND,
      maxBatchRequests: this.env.INGEST_RPC_BATCH_REQUESTS,
      healthIntervalMs: this.env.INGEST_RPC_HEALTH_INTERVAL_MS,
      maxAnswerBytes: this.env.INGEST_RPC_MAX_ANSWER_BYTES,
    });
    this.readers.set(chainId, client);
    return client;
  }

  /** One reconciliation pass when this replica holds the reconciler's lease (taken by whichever replica asks first). */
  private async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      if (!(await this.leases.tryAcquire(RECONCILER_LEASE))) return;
      await this.reconciler.pass();
    } catch (e) {
      this.logger.warn(`reconciliation failed: ${(e as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }

  following(): string[] {
    return [...this.followers.keys()];
  }

  onApplicationBootstrap(): void {
    void this.checkLeases();
    this.timer = setInterval(() => void this.checkLeases(), this.env.INGEST_LEASE_CHECK_MS);
    if (this.env.INGEST_RECONCILE_SECONDS > 0) {
      // A first pass soon after start (a fresh deployment learns what is pending at once), then every period.
      this.firstReconcile = setTimeout(() => void this.reconcile(), Math.min(5_000, this.env.INGEST_RECONCILE_SECONDS * 1000));
      this.reconcileTimer = setInterval(() => void this.reconcile(), this.env.INGEST_RECONCILE_SECONDS * 1000);
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.reconcileTimer);
    clearTimeout(this.firstReconcile);
    await Promise.all([...this.followers.keys()].map((c) => this.stopFollower(c)));
    await this.leases.close();
    await Promise.all([...this.clients.values(), ...this.readers.values()].map((c) => c.close()));
    await this.decoder.close();
  }

  private async checkLeases(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      if (!this.channelsLoaded) {
        const n = await this.channels.load();
        this.channelsLoaded = true;
        if (n > 0) this.logger.log(`${n} channel counterparties learned from chain state earlier`);
      }
      for (const chain of this.chains) {
        if (this.followers.has(chain.chain_id)) continue;
        if (!(await this.leases.tryAcquire(chain.chain_id))) continue;
        this.logger.log(`following ${chain.chain_id} at ${chain.rpc.map(endpointLabel).join(', ')}`);
        const client =
          this.clients.get(chain.chain_id) ??
          new CometRpcClient(chain.chain_id, chain.rpc, {
            timeoutMs: this.env.INGEST_RPC_TIMEOUT_MS,
            attempts: this.env.INGEST_RPC_ATTEMPTS,
            requestsPerSecond: chain.requests_per_second ?? this.env.INGEST_RPC_REQUESTS_PER_SECOND,
            maxBatchRequests: this.env.INGEST_RPC_BATCH_REQUESTS,
            concurrency: this.env.INGEST_RPC_CONCURRENCY,
            healthIntervalMs: this.env.INGEST_RPC_HEALTH_INTERVAL_MS,
            maxAnswerBytes: this.env.INGEST_RPC_MAX_ANSWER_BYTES,
          });
        this.clients.set(chain.chain_id, client);
        const follower = new ChainFollower(chain, client, this.store, this.writer, this.publisher, this.connection, this.decoder, {
          batchBlocks: this.env.INGEST_BATCH_BLOCKS,
          pollIntervalMs: this.env.INGEST_POLL_INTERVAL_MS,
          retryInitialMs: 500,
          retryMaxMs: 15_000,
        }, this.channels);
        this.followers.set(chain.chain_id, follower);
        follower.start();
      }
    } catch (e) {
      this.logger.warn(`lease check failed: ${(e as Error).message}`);
    } finally {
      this.held.set(this.followers.size);
      this.checking = false;
    }
  }

  private async stopFollower(chainId: string): Promise<void> {
    const f = this.followers.get(chainId);
    this.followers.delete(chainId);
    await f?.stop();
    await this.leases.release(chainId);
    this.held.set(this.followers.size);
  }
}

@Module({})
export class IngestModule {
  static forRoot(env: IngestEnv): DynamicModule {
    return {
      module: IngestModule,
      providers: [
        { provide: INGEST_ENV, useValue: env },
        { provide: CHAINS, useFactory: () => loadChainsConfig(env.CHAINS_FILE) },
        { provide: CounterpartyDirectory, useFactory: (chains: ChainConfig[]) => new CounterpartyDirectory(chains), inject: [CHAINS] },
        IngestService,
      ],
      exports: [IngestService],
    };
  }
}
