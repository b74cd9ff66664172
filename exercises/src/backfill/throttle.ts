/**
 * How long the backfill waits before its next batch: the backfill yields to the traffic it
 * shares the database with, as GitLab's batched background migrations do on database health.
 *
 * The health signal is the batch's own duration per row against the fastest of the recent
 * batches (its quiet pace). It is cheap (a clock, no query) and local (no metrics system), and
 * it rises with what hurts the bids: a batch that waits for the CPU, for the disk or for a WAL
 * flush behind the bids' commits takes longer, and a bid's commit waits behind the same things.
 * Two batches in a row that took `slowdownRatio` times their quiet pace or more are a sign the
 * database is busy (one alone is as often noise: on a shared machine, with no bids at all, a
 * third of the batches of one run came out 2× slower than the fastest, each on its own), and
 * the backfill then waits as long as the slowdown cost before its next batch (a
 * batch at 3× its pace waits twice its own duration; up to MAX_PAUSE_MS): its share of the
 * database falls to about 1/ratio while the slowdown lasts. A batch back at its pace is
 * followed by the configured pause. No memory beyond the baseline, on purpose: a first version
 * doubled the pause per slow batch, and on a loaded machine a batch right after a 2 s pause ran
 * 2-3× slower (its process had lost the CPU), so long pauses made slow batches made long
 * pauses, and the backfill stayed at its longest pause after the load was gone.
 *
 * What it cannot see: a machine busy from the first batch on (the quiet pace is then the busy
 * one). The baseline is the fastest batch of the last BASELINE_WINDOW, not of the whole run, so
 * a lucky batch early on does not keep every later one looking slow.
 */
export interface Throttle {
  /** After a batch of `rows` rows that took `ms`: the pause before the next one. */
  next(ms: number, rows: number): ThrottleStep;
}

export interface ThrottleStep {
  pauseMs: number;
  /** The batch's ms per row over the fastest recent batch's: 1 at the quiet pace. */
  ratio: number;
  /** True when this batch and the one before were slow enough to make the backfill yield. */
  yielding: boolean;
}

/** A batch this many times slower per row than its recent fastest means the database is busy. */
export const SLOWDOWN_RATIO = 2;
/** The longest pause: the backfill keeps moving however busy the database is (its alert watches the checkpoint). */
export const MAX_PAUSE_MS = 2_000;
/** Batches the quiet pace is taken over. */
export const BASELINE_WINDOW = 50;

export function createThrottle(options: { pauseMs: number; slowdownRatio?: number; maxPauseMs?: number; window?: number }): Throttle {
  const { pauseMs, slowdownRatio = SLOWDOWN_RATIO, maxPauseMs = Math.max(MAX_PAUSE_MS, options.pauseMs), window = BASELINE_WINDOW } = options;
  const recent: number[] = [];
  let slowBefore = false;
  return {
    next(ms, rows) {
      // Per row: a batch that met fewer rows (a retry, the last one) is compared on its pace.
      const perRow = ms / Math.max(rows, 1);
      recent.push(perRow);
      if (recent.length > window) recent.shift();
      const ratio = perRow / Math.min(...recent);
      const slow = ratio >= slowdownRatio;
      const yielding = slow && slowBefore;
      slowBefore = slow;
      const pause = yielding ? Math.min(maxPauseMs, Math.max(pauseMs, ms * (ratio - 1))) : pauseMs;
      return { pauseMs: pause, ratio, yielding };
    },
  };
}
