/** A pg_lsn ('16/B374D848') as a byte position in the WAL. */
export function lsnBytes(lsn: string): bigint {
  const slash = lsn.indexOf('/');
  if (slash < 1) throw new Error(`not a pg_lsn: ${lsn}`);
  return (BigInt(`0x${lsn.slice(0, slash)}`) << 32n) | BigInt(`0x${lsn.slice(slash + 1)}`);
}

/** Unreplayed WAL below this, seen with nothing to compare it to, is taken as ordinary streaming (milliseconds of replay). */
export const NEAR_BYTES = 1n << 20n;

export interface LagReading {
  /** The primary's current WAL position, read just before the replica was asked. */
  primaryLsn: string;
  /** What the replica has replayed (pg_last_wal_replay_lsn()). */
  replayLsn: string;
  /** Time since the last transaction the replica replayed was committed on the primary; null when it has replayed none. */
  sinceReplayMs: number | null;
  now: number;
}

/**
 * How stale a replica is, from the primary's WAL positions that earlier probes saw: a replica that has not yet
 * replayed a position the primary had reached at time T is at least now − T behind, and one that has replayed
 * everything the primary had is not behind at all. The figure is a lower bound with the probe interval as its
 * resolution.
 *
 * The time since the replica's last replayed transaction is not used once there is history: on a quiet primary it
 * says minutes the moment a new commit lands, though the replica is milliseconds behind. With no history (the first
 * probe, or the first after the replica came back) a replica within NEAR_BYTES of the primary counts as caught up;
 * one further behind is as stale as its last replayed transaction.
 */
export class ReplicaLagEstimator {
  /** Positions the primary had reached and the replica had not, oldest first, with when they were seen. */
  private pending: Array<{ lsn: bigint; at: number }> = [];
  /** Whether anything was measured since the estimator started or was reset. */
  private known = false;

  constructor(private readonly maxPending = 1_000) {}

  /** The replica's lag in ms (Infinity when it is far behind and has replayed no transaction). */
  measure(r: LagReading): number {
    const primary = lsnBytes(r.primaryLsn);
    const replay = lsnBytes(r.replayLsn);
    const firstLook = !this.known;
    this.known = true;
    if (replay >= primary) {
      this.pending = [];
      return 0;
    }
    // Positions rise through the list, so what is left after dropping the replayed ones starts at the oldest.
    this.pending = this.pending.filter((p) => p.lsn > replay);
    const oldest = this.pending[0];
    // With nothing to compare against, a replica far behind is as stale as its last replayed transaction, and stays so
    // until it replays past where the primary is now.
    const lag = oldest ? r.now - oldest.at : firstLook && primary - replay > NEAR_BYTES ? (r.sinceReplayMs ?? Number.POSITIVE_INFINITY) : 0;
    if (this.pending.length === 0 || this.pending[this.pending.length - 1]!.lsn < primary) this.pending.push({ lsn: primary, at: oldest ? r.now : r.now - lag });
    // Keeps the oldest (it is the lag) and the newest; the ones between only refine later readings.
    if (this.pending.length > this.maxPending) this.pending.splice(1, 1);
    return Math.max(0, lag);
  }

  /** Forgets what was seen (the replica could not be asked: its position is unknown). */
  reset(): void {
    this.pending = [];
    this.known = false;
  }
}
