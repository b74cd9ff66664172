import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { withTransaction, type Db, type DbClient } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import type { Logger } from '#runtime/logger.ts';
import { sqlStatesOf } from '#runtime/retry.ts';
import { fillBidderBatch, readCheckpoint, START } from './fill-bidder-batch.ts';
import { throttleStep, TRAFFIC_WINDOW_MS, type Traffic } from './throttle.ts';

export interface BackfillConfig {
  backfill: { batchSize: number; pauseMs: number; lockTimeoutMs: number };
}

export interface BackfillProgress {
  /** Rows filled by this run. */
  filled: number;
  /** Rows looked at by this run. */
  scanned: number;
  /** Rows left to look at when this run started (estimated from the checkpoint). */
  total: number;
  /** Rows looked at per second so far, and the seconds left at that rate. */
  rowsPerSecond: number;
  etaSeconds: number;
  /** Batches given up on a lock and run again. */
  retries: number;
  /** The pause before the next batch and its size, and how many batches so far made the backfill yield (throttle.ts). */
  pauseMs: number;
  batchSize: number;
  yielded: number;
  /** The last batch: how long it took, and the other sessions of the database active around its end (the traffic). */
  batchMs: number;
  traffic: number;
  /** Seconds paused beyond the configured pause: what yielding to the traffic cost this run. */
  yieldedSeconds: number;
}

export interface BackfillResult extends BackfillProgress {
  resumedAfter: string;
  batches: number;
  seconds: number;
}

/**
 * The other client sessions of this database that are running something or ran something in
 * the last TRAFFIC_WINDOW_MS: the traffic throttle.ts yields to, and how many of them are in flight. Read in the batch's
 * transaction, so on the batch's own connection (pg_backend_pid() is the backfill's), and as its
 * last statement: pg_stat_activity is read once per transaction, at its first use. Background
 * workers (autovacuum, the checkpointer) are not traffic: backend_type 'client backend' only.
 */
async function trafficNow(tx: DbClient): Promise<Traffic> {
  const { rows } = await tx.query<Traffic>(
    `SELECT count(*)::int AS sessions, (count(*) FILTER (WHERE state <> 'idle'))::int AS "inFlight" FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND (state = 'active' OR state_change > clock_timestamp() - make_interval(secs => $1::int / 1000.0))`,
    [TRAFFIC_WINDOW_MS],
  );
  return rows[0]!;
}

/** SQLSTATEs a batch can meet while the app and other DDL run: lock timeout, deadlock, serialization. */
const RETRYABLE = sqlStatesOf('lock-timeout', 'conflict');

/**
 * Fills bids.bidder_id batch by batch while bids keep coming: each batch a short transaction
 * with a lock_timeout, a pause between batches, and shorter batches and longer pauses while other
 * sessions use the database (it yields to the traffic: throttle.ts), resumable from its checkpoint, and safe to run
 * twice (a filled row is skipped). Ends when a batch finds no bid after the checkpoint.
 */
export async function runBackfill(
  deps: { db: Db; log: Logger; config: BackfillConfig },
  options: {
    onProgress?: (p: BackfillProgress) => void;
    signal?: AbortSignal /** Look at every row again, not only those after the checkpoint (a row written around the trigger). */;
    fromStart?: boolean;
  } = {},
): Promise<BackfillResult> {
  const { batchSize, pauseMs, lockTimeoutMs } = deps.config.backfill;
  const start = options.fromStart ? { lastId: START } : await withTransaction(deps.db, (tx) => readCheckpoint(tx));
  const { rows } = await deps.db.query<{ left: string }>('SELECT count(*) AS left FROM bids WHERE id > $1::uuid', [start.lastId]);
  const total = Number(rows[0]!.left);
  deps.log.info({ resumedAfter: start.lastId, total }, 'backfill starting');
  const began = performance.now();
  let afterId = start.lastId;
  const progress: BackfillProgress = {
    filled: 0,
    scanned: 0,
    total,
    rowsPerSecond: 0,
    etaSeconds: 0,
    retries: 0,
    pauseMs,
    yielded: 0,
    yieldedSeconds: 0,
    batchSize,
    batchMs: 0,
    traffic: 0,
  };
  let batches = 0;
  let size = batchSize;
  for (;;) {
    options.signal?.throwIfAborted();
    let batch;
    const batchStarted = performance.now();
    try {
      // The lock_timeout goes in BEGIN's own message: while bids flow the batches are small, and
      // each round trip is a larger part of one. (lockTimeoutMs is an integer: config.ts parses it.)
      // synchronous_commit stays on. Off, it would be safe here (a batch lost in a crash takes its
      // checkpoint with it and is simply done again), but it would not spare the bids the batch's
      // WAL: a commit flushes all the WAL before its own, so the batch's would be flushed by the
      // next bid to commit (one every 5 ms at 200 bids/s; the WAL writer wakes every 200 ms),
      // inside that bid's answer time. On, the batch flushes its own WAL at its COMMIT, before
      // its pause.
      batch = await withTransaction(
        deps.db,
        async (tx) => {
          const result = await fillBidderBatch(tx, afterId, size);
          // A stand-in for a busy database in tests: the batch takes longer, as it would waiting for the CPU or the disk.
          await failpoint('backfill.in-batch');
          return { ...result, traffic: await trafficNow(tx) };
        },
        { begin: () => `SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}` },
      );
    } catch (err) {
      if (!(err instanceof pg.DatabaseError && RETRYABLE.has(err.code ?? ''))) throw err;
      progress.retries++;
      deps.log.warn({ code: err.code, afterId }, 'backfill batch gave up on a lock; trying it again');
      await sleep(Math.max(pauseMs, 100));
      continue;
    }
    const batchMs = performance.now() - batchStarted;
    if (batch.lastId === null) break;
    batches++;
    afterId = batch.lastId;
    progress.filled += batch.filled;
    progress.scanned += batch.scanned;
    const seconds = (performance.now() - began) / 1000;
    progress.rowsPerSecond = seconds > 0 ? progress.scanned / seconds : 0;
    progress.etaSeconds = progress.rowsPerSecond > 0 ? Math.max(0, progress.total - progress.scanned) / progress.rowsPerSecond : 0;
    // A short batch is the last one: no pause after it.
    const last = batch.scanned < size;
    progress.batchMs = batchMs;
    progress.traffic = batch.traffic.sessions;
    if (!last) {
      const step = throttleStep(batchMs, batch.traffic, { pauseMs, batchSize });
      progress.pauseMs = step.pauseMs;
      progress.batchSize = size = step.batchSize;
      progress.yieldedSeconds += (step.pauseMs - pauseMs) / 1000;
      if (step.yielding) {
        progress.yielded++;
        deps.log.debug(
          { batchMs: Math.round(batchMs), sessions: batch.traffic.sessions, pauseMs: step.pauseMs, batchSize: size },
          'other sessions in the database: the backfill yields to them',
        );
      }
    }
    options.onProgress?.({ ...progress });
    // The batch is committed: a crash here must resume after it, not repeat or skip it.
    await failpoint('backfill.after-batch');
    if (last) break;
    if (progress.pauseMs > 0) await sleep(progress.pauseMs);
  }
  const seconds = (performance.now() - began) / 1000;
  deps.log.info({ ...progress, batches, seconds }, 'backfill done');
  return { ...progress, resumedAfter: start.lastId, batches, seconds };
}
