// When to try again, and how long to wait first: the one backoff formula and the one table of
// retryable SQLSTATEs for the infrastructure (the reconnecting clients, the migration runner,
// the app's non-exercise code). The learner's own regions keep theirs: writing them is the
// exercise (outbox/backoff.ts, withRetries in bidding/bid-transaction.ts, handle-delivery.ts).

/** How the pause grows: `firstMs` before attempt 1, doubled each attempt, never above `maxMs`. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
  /**
   * 'full': anywhere in [0, ceiling], so many clients that failed together do not retry in
   * step (AWS's "full jitter"). 'equal': in [ceiling/2, ceiling], for a single client that
   * should still back off by at least half (a server that is restarting needs the time).
   */
  jitter: 'full' | 'equal';
}

// 2 ** 30 × firstMs is above any cap we use; bounding the exponent keeps the product finite
// for an attempt counter that has run for days.
const MAX_EXPONENT = 30;

/** The pause before attempt `attempt` (1, 2, …), in whole milliseconds, within [0, policy.maxMs]. */
export function backoffMs(attempt: number, policy: Backoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), MAX_EXPONENT);
  const ceiling = Math.min(policy.maxMs, policy.firstMs * 2 ** exponent);
  const floor = policy.jitter === 'equal' ? ceiling / 2 : 0;
  return Math.round(floor + random() * (ceiling - floor));
}

/** What a failed statement's SQLSTATE says about running it again. */
export type SqlStateRetry =
  /** The transaction lost a race (serialization failure, deadlock): run the whole transaction again. */
  | 'conflict'
  /** A lock_timeout gave up waiting for a lock: run it again once the holder is done. */
  | 'lock-timeout'
  /** The connection is gone or the server is shutting down or starting: reconnect, then again. */
  | 'connection';

// The one table. 23505 (unique violation) and the rest are never here: run again, they fail again.
const BY_SQLSTATE: Readonly<Record<string, SqlStateRetry>> = {
  '40001': 'conflict', // serialization_failure
  '40P01': 'conflict', // deadlock_detected
  '55P03': 'lock-timeout', // lock_not_available
  '57P01': 'connection', // admin_shutdown
  '57P02': 'connection', // crash_shutdown
  '57P03': 'connection', // cannot_connect_now
  '57P04': 'connection', // database_dropped
  '57P05': 'connection', // idle_session_timeout
};

/** Whether, and why, a failure with this SQLSTATE may succeed if tried again (class 08 is a lost connection). */
export function sqlStateRetry(code: string | undefined): SqlStateRetry | undefined {
  if (code === undefined) return undefined;
  return BY_SQLSTATE[code] ?? (code.startsWith('08') ? 'connection' : undefined);
}

/** The SQLSTATEs of these kinds, for code that asks `.has(code)` (class 08 is open-ended: use sqlStateRetry for 'connection'). */
export function sqlStatesOf(...kinds: SqlStateRetry[]): ReadonlySet<string> {
  return new Set(
    Object.entries(BY_SQLSTATE)
      .filter(([, kind]) => kinds.includes(kind))
      .map(([code]) => code),
  );
}
