import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AdvisoryLeases, Database, DB_ENV, type DbEnv } from '@unstuck/db';
import { EventPublisher, JetStreamHandler, type Delivery } from '@unstuck/messaging';
import { metric } from '@unstuck/observability';
import type { StatsEnv } from './env';
import { DatabaseMaintenance } from './maintenance';
import { PacketStatsConsumer } from './packet-stats.consumer';
import { StatsStore } from './stats-store';
import { StatsUpdatesPublisher } from './stats-updates';
import { StuckDetector } from './stuck-detector';
import { STATS_ENV } from './tokens';

interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
  timer?: NodeJS.Timeout;
  running?: boolean;
}

/**
 * The scheduled work runs on one replica at a time, the leader (a PostgreSQL advisory lock): stuck detection and
 * its gauges, stats.updated publication, view refreshes, partition maintenance and database reports. The event
 * consumers run on every replica and share the stream. When the leader dies its lock is released and another
 * replica takes over within STATS_LEADER_CHECK_MS.
 */
@Injectable()
export class StatsLeader implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('StatsLeader');
  private readonly leases: AdvisoryLeases;
  private readonly jobs: Job[];
  private readonly updates: StatsUpdatesPublisher;
  private checkTimer: NodeJS.Timeout | undefined;
  private leading = false;
  private readonly isLeader = metric.gauge({ name: 'stats_leader', help: '1 while this replica runs the scheduled stats jobs' });
  private readonly jobFailures = metric.counter({ name: 'stats_job_failures_total', help: 'scheduled job runs that failed', labelNames: ['job'] });

  constructor(
    @Inject(STATS_ENV) private readonly env: StatsEnv,
    @Inject(DB_ENV) dbEnv: DbEnv,
    @Inject(Database) db: Database,
    @Inject(StatsStore) private readonly store: StatsStore,
    @Inject(EventPublisher) publisher: EventPublisher,
  ) {
    this.leases = new AdvisoryLeases(dbEnv.DATABASE_URL, 'stats', () => {
      this.logger.warn('lost the leadership');
      this.stopJobs();
    });
    const detector = new StuckDetector(db, store, publisher, env);
    const maintenance = new DatabaseMaintenance(db, env);
    this.updates = new StatsUpdatesPublisher(db, publisher);
    this.jobs = [
      { name: 'partitions', everyMs: env.STATS_PARTITION_CHECK_MS, run: () => maintenance.maintainPartitions() },
      { name: 'stuck', everyMs: env.STATS_DETECT_INTERVAL_MS, run: () => detector.tick() },
      { name: 'updates', everyMs: env.STATS_PUBLISH_INTERVAL_MS, run: () => this.publishUpdates() },
      { name: 'views', everyMs: env.STATS_MV_REFRESH_MS, run: () => maintenance.refreshViews() },
      { name: 'db-report', everyMs: env.STATS_DB_REPORT_MS, run: () => maintenance.report() },
    ];
  }

  get leader(): boolean {
    return this.leading;
  }

  onApplicationBootstrap(): void {
    void this.tryLead();
    this.checkTimer = setInterval(() => void this.tryLead(), this.env.STATS_LEADER_CHECK_MS);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.checkTimer);
    this.stopJobs();
    await Promise.all(this.jobs.map((j) => this.idle(j)));
    await this.leases.close();
  }

  /** Platform figures, recomputed and published when they changed (also on clearing events, on any replica). */
  async refreshPlatform(): Promise<void> {
    const { stats, updatedAt } = await this.store.platformSnapshot();
    await this.updates.publishPlatform(stats, updatedAt);
  }

  private async publishUpdates(): Promise<void> {
    await this.updates.run();
    await this.refreshPlatform();
  }

  private async tryLead(): Promise<void> {
    if (this.leading) return;
    try {
      if (!(await this.leases.tryAcquire('leader'))) return;
    } catch (e) {
      this.logger.warn(`leadership check failed: ${(e as Error).message}`);
      return;
    }
    this.leading = true;
    this.isLeader.set(1);
    this.logger.log('leading: running the scheduled stats jobs');
    for (const job of this.jobs) {
      void this.runJob(job);
      job.timer = setInterval(() => void this.runJob(job), job.everyMs);
    }
  }

  private stopJobs(): void {
    this.leading = false;
    this.isLeader.set(0);
    for (const job of this.jobs) clearInterval(job.timer);
  }

  private async runJob(job: Job): Promise<void> {
    if (job.running || !this.leading) return;
    job.running = true;
    try {
      await job.run();
    } catch (e) {
      this.jobFailures.inc({ job: job.name });
      this.logger.warn(`job ${job.name} failed: ${(e as Error).message}`);
    } finally {
      job.running = false;
    }
  }

  private async idle(job: Job): Promise<void> {
    while (job.running) await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Clearing changes move the platform figures: recompute them soon rather than at the next tick, but at most once a
 * second however many operations change (each recompute counts the stuck packets and scans the clearing table).
 * Events within a second of a recompute are covered by one trailing recompute (and, were the process to stop
 * first, by the leader's scheduled one).
 */
@Injectable()
export class ClearingStatsConsumer implements OnModuleDestroy {
  private readonly logger = new Logger(ClearingStatsConsumer.name);
  private lastRefresh = 0;
  private trailing: NodeJS.Timeout | undefined;

  constructor(@Inject(StatsLeader) private readonly leader: StatsLeader) {}

  @JetStreamHandler({ durable: 'stats-aggregator-clearing', events: ['clearing.operation_updated'], batch: { max: 500, maxWaitMs: 100 } })
  async handle(_deliveries: Delivery[]): Promise<void> {
    const wait = this.lastRefresh + 1_000 - Date.now();
    if (wait <= 0) return this.refresh();
    this.trailing ??= setTimeout(() => {
      this.trailing = undefined;
      void this.refresh().catch((e: Error) => this.logger.warn(`platform figures not refreshed: ${e.message}`));
    }, wait);
  }

  onModuleDestroy(): void {
    clearTimeout(this.trailing);
  }

  private async refresh(): Promise<void> {
    this.lastRefresh = Date.now();
    await this.leader.refreshPlatform();
  }
}

@Module({})
export class StatsModule {
  static forRoot(env: StatsEnv): DynamicModule {
    return {
      module: StatsModule,
      providers: [
        { provide: STATS_ENV, useValue: env },
        { provide: StatsStore, useFactory: (db: Database) => new StatsStore(db), inject: [Database] },
        PacketStatsConsumer,
        StatsLeader,
        ClearingStatsConsumer,
      ],
      exports: [StatsStore, StatsLeader],
    };
  }
}
