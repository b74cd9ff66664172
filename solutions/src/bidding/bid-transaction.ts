import pg from 'pg';
import { PoolWaitTimeout, withTransaction, type Db, type DbClient } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { sqlStatesOf } from '#runtime/retry.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { Busy, DeadlineExceeded, RetriesExhausted } from '../errors.ts';
import type { Bid } from './bid.ts';
import { ReplayedRequest } from './replayed-request.ts';

export interface BidTransactionConfig {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  maxAttempts: number;
}

/** The unique constraint on a bidder's request ids: on user_id until milestone 5, then on bidder_id. */
const REQUEST_ID_UNIQUE = ['bids_user_request_unique', 'bids_bidder_request_unique'];

/** SQLSTATEs after which the same transaction, run again, can succeed. Never 23505. */
export const RETRYABLE = sqlStatesOf('conflict'); // 40P01, 40001

/**
 * Runs `fn` again, after a jittered pause, when it fails with a deadlock or a serialization
 * failure; after `maxAttempts` it throws RetriesExhausted. Any other error is thrown at once.
 */
export async function withRetries<T>(fn: () => Promise<T>, options: { maxAttempts: number; baseDelayMs?: number }): Promise<T> {
  // #region m3: retry deadlocks and serialization failures with bounded, jittered backoff
  const base = options.baseDelayMs ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!RETRYABLE.has(code)) throw err;
      if (attempt >= options.maxAttempts) throw new RetriesExhausted(attempt, code);
      await new Promise((r) => setTimeout(r, Math.random() * base * 2 ** attempt));
    }
  }
  // #stub
  // throw new TodoError('m3', 'retry deadlocks in bidding/bid-transaction.ts');
  // #endregion
}

/** What one caller allows its bid. */
export interface BidCall {
  /** The performance.now() by which the bid must have committed or given up: the caller's deadline. */
  deadline?: number;
}

/**
 * The transaction every bid runs in: bounded lock waits and statements, retried on deadlock,
 * a replayed request answered with its original bid, a lock timeout reported as Busy. The
 * caller's deadline bounds all of it: the wait for a connection, each statement, the retries,
 * and the COMMIT, which a bid past its deadline never reaches (DeadlineExceeded).
 */
export async function runBidTransaction(
  deps: { db: Db; config: { bidding: BidTransactionConfig } },
  itemId: string,
  fn: (tx: DbClient) => Promise<Bid>,
  call: BidCall = {},
): Promise<Bid> {
  const { bidding } = deps.config;
  // #region m3: bound lock waits and statements, retry deadlocks, answer replays, report a lock timeout as Busy, keep to the deadline
  const left = () => (call.deadline === undefined ? Infinity : call.deadline - performance.now());
  const timeLeft = () => {
    const ms = left();
    if (ms <= 0) throw new DeadlineExceeded(itemId);
    return ms;
  };
  // Which of the transaction's limits the deadline lowered: a timeout of those is the caller's time running out.
  let cut = { lock: false, statement: false };
  try {
    return await withRetries(
      () =>
        withTransaction(
          deps.db,
          async (tx) => {
            const bid = await fn(tx);
            // The gap between a bid's last statement and its COMMIT (tests stall a bid here).
            await failpoint('bid.before-commit');
            // A bid committed after its caller stopped waiting would be accepted with no one told:
            // the time spent between statements counts too, so look once more before COMMIT.
            timeLeft();
            return bid;
          },
          {
            acquireTimeoutMs: timeLeft(),
            // No wait may outlast the caller. SET LOCAL: only this transaction; a pooled connection
            // must not keep them. Sent with BEGIN, in its message: a round trip less per bid. The
            // values are whole numbers computed here, never input, so no parameters are needed.
            begin: () => {
              const ms = Math.ceil(timeLeft());
              cut = { lock: ms < bidding.lockTimeoutMs, statement: ms < bidding.statementTimeoutMs };
              return `SET LOCAL lock_timeout = '${Math.min(bidding.lockTimeoutMs, ms)}ms'; SET LOCAL statement_timeout = '${Math.min(bidding.statementTimeoutMs, ms)}ms'`;
            },
          },
        ),
      { maxAttempts: bidding.maxAttempts },
    );
  } catch (err) {
    if (err instanceof ReplayedRequest) return err.original;
    // A wait the caller's deadline cut short: for a connection (only the deadline bounds it), a lock, a statement.
    const code = err instanceof pg.DatabaseError ? err.code : undefined;
    if (err instanceof PoolWaitTimeout || (code === '55P03' && cut.lock) || (code === '57014' && cut.statement)) throw new DeadlineExceeded(itemId);
    if (err instanceof pg.DatabaseError && err.code === '55P03') throw new Busy(itemId, bidding.lockTimeoutMs);
    // Two requests with one id raced past the replay check (different items): the constraint
    // refused the second; run it again and the check answers it (the same request or RequestIdReused).
    if (err instanceof pg.DatabaseError && err.code === '23505' && REQUEST_ID_UNIQUE.includes(err.constraint ?? '')) {
      return runBidTransaction(deps, itemId, fn, call);
    }
    throw err;
  }
  // #stub
  // // Milestone 2's version: no timeouts, no retries, no deadline.
  // void call;
  // return withTransaction(deps.db, fn);
  // #endregion
}
