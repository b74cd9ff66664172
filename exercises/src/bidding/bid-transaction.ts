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
  throw new TodoError('m3', 'retry deadlocks in bidding/bid-transaction.ts');
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
  // Milestone 2's version: no timeouts, no retries, no deadline.
  void call;
  return withTransaction(deps.db, fn);
  // #endregion
}
