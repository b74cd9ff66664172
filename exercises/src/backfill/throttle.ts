import { TodoError } from '#runtime/todo-error.ts';

/**
 * How the backfill paces itself: it yields to the traffic it shares the database with, as
 * GitLab's batched background migrations pause on database health.
 *
 * The signal is the traffic itself, read from PostgreSQL: the other client sessions of this
 * database that ran something in the last TRAFFIC_WINDOW_MS (pg_stat_activity, measured by
 * backfill.ts after each batch). While there are any, two things change:
 * - the backfill holds at most BUSY_SHARE of its time: after a batch of `ms` it waits
 *   `ms × (1 / share − 1)` (as long as the batch took, at one half), so its backend leaves a core
 *   to the bids at least half the time, on a machine that may have only two. The share falls
 *   further with the sessions in flight when the batch ended (running a statement or inside a
 *   transaction): BUSY_SHARE / n for n of them. That is the database's queue: at 200 bids/s on a
 *   healthy machine about one is in flight at any moment, and when the bids pile up (a busy
 *   machine: the first benchmark runs of this throttle saw bid p50 go from 44 ms to 1.5 s at a
 *   fixed half share) all the pool's connections are, and the backfill all but stops (up to
 *   MAX_PAUSE_MS between batches) until they drain;
 * - its batches shrink to BUSY_BATCH_FRACTION of the configured size: a bid that commits while a
 *   batch runs flushes the WAL the batch wrote before it, and waits for the CPU the batch holds,
 *   so the shorter the batch, the shorter the worst wait of a bid that lands in it. The WAL is
 *   most of it: the ids are random, so each row of a batch is on another heap page, and its new
 *   version adds an entry to each of the four indexes of bids, three of them at random places;
 *   the first change to a page after a checkpoint writes the whole page to the WAL. Right
 *   after a checkpoint a 1,000-row batch wrote 19 to 25 MB of WAL (3.5 whole pages a row,
 *   EXPLAIN (ANALYZE, WAL) on a fresh copy of the benchmark's table), and 5 KB a row on average
 *   over the benchmark's whole run. A 250-row batch wrote 4 MB. (The bids once flushed it one
 *   at a time, each behind the lock for the whole server that a transaction which ran NOTIFY
 *   holds through its commit: bid p99 49 to 66 ms during the backfill on the days the disk was
 *   slow. Since the bids wake the relay after their commit (outbox/wake-relay.ts), the bids
 *   that commit together share one flush.)
 * With no one else in the database the backfill runs its configured batches with the configured
 * pause, at the speed it would have without a throttle.
 *
 * Why not the batch's own duration (the first version of this throttle): on a shared machine a
 * batch's time per row moves with everything else that runs, and in the benchmark it did not
 * move with the bids. With no bids at all it yielded 9 times (65% of the ceiling); with bids it
 * yielded none while their p99 tripled. Other sessions in the database are what the backfill is
 * asked to make room for, and pg_stat_activity sees them at once, whatever their speed.
 *
 * What it cannot see: load that is not a session of this database: other databases on the same
 * server, other processes on the machine (they slow the bids as much, and the backfill keeps its
 * configured pace); and sessions of another role whose state the backfill's role may not read
 * (pg_stat_activity shows it only to the same role or members of pg_read_all_stats). It also
 * cannot tell one bid a second from a thousand: any traffic halves the backfill's share, so it
 * never takes the bids' latency itself into account (that would need the app's metrics).
 */
export interface Traffic {
  /** Other client sessions of the backfill's database active in the last TRAFFIC_WINDOW_MS. */
  sessions: number;
  /** Of those, the ones in flight when the batch ended: running a statement or inside a transaction. */
  inFlight: number;
}

export interface ThrottleStep {
  /** The pause before the next batch. */
  pauseMs: number;
  /** Rows the next batch looks at. */
  batchSize: number;
  /** True when traffic made the backfill slow down. */
  yielding: boolean;
}

/** A session that ran something this recently counts as traffic: bids a few seconds apart keep the backfill yielding between them. */
export const TRAFFIC_WINDOW_MS = 1_000;
/** The share of its time the backfill spends in the database while there is traffic. */
export const BUSY_SHARE = 0.5;
/** While there is traffic, batches of this fraction of BACKFILL_BATCH_SIZE: a twentieth of the WAL a bid may have to flush behind a full batch (above). */
export const BUSY_BATCH_FRACTION = 0.05;
/** The longest pause: the backfill keeps moving however busy the database is. */
export const MAX_PAUSE_MS = 2_000;

/**
 * After a batch that took `batchMs`, with `traffic` measured at its end: the pause before the
 * next batch and its size. Pure: the measuring is backfill.ts's.
 */
export function throttleStep(
  batchMs: number,
  traffic: Traffic,
  options: { pauseMs: number; batchSize: number; busyShare?: number; busyBatchFraction?: number; maxPauseMs?: number },
): ThrottleStep {
  // #region m5: decide the pause and the next batch's size from the traffic
  void [batchMs, traffic, options, BUSY_SHARE, BUSY_BATCH_FRACTION, MAX_PAUSE_MS];
  throw new TodoError('m5', 'decide the pause and the next batch size from the traffic in backfill/throttle.ts (throttleStep)');
  // #endregion
}
