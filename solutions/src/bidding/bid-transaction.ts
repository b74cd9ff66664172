import pg from 'pg';
import { withTransaction, type Db, type DbClient } from '#shared/db.ts';
import { failpoint } from '#shared/failpoints.ts';
import { TodoError } from '#shared/todo-error.ts';
import { Busy, RetriesExhausted } from '../errors.ts';
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
export const RETRYABLE = new Set(['40P01', '40001']);

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

/**
 * The transaction every bid runs in: bounded lock waits and statements, retried on deadlock,
 * a replayed request answered with its original bid, a lock timeout reported as Busy.
 */
export async function runBidTransaction(deps: { db: Db; config: { bidding: BidTransactionConfig } }, itemId: string, fn: (tx: DbClient) => Promise<Bid>): Promise<Bid> {
  const { bidding } = deps.config;
  // #region m3: bound lock waits and statements, retry deadlocks, answer replays, report a lock timeout as Busy
  try {
    return await withRetries(
      () =>
        withTransaction(deps.db, async (tx) => {
          // SET LOCAL: only this transaction; a pooled connection must not keep them.
          await tx.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [`${bidding.lockTimeoutMs}ms`, `${bidding.statementTimeoutMs}ms`]);
          const bid = await fn(tx);
          // The gap between a bid's last statement and its COMMIT (tests stall a bid here).
          await failpoint('bid.before-commit');
          return bid;
        }),
      { maxAttempts: bidding.maxAttempts },
    );
  } catch (err) {
    if (err instanceof ReplayedRequest) return err.original;
    if (err instanceof pg.DatabaseError && err.code === '55P03') throw new Busy(itemId, bidding.lockTimeoutMs);
    // Two requests with one id raced past the replay check (different items): the constraint
    // refused the second; run it again and the check finds the first.
    if (err instanceof pg.DatabaseError && err.code === '23505' && REQUEST_ID_UNIQUE.includes(err.constraint ?? '')) {
      return runBidTransaction(deps, itemId, fn);
    }
    throw err;
  }
  // #stub
  // // Milestone 2's version: no timeouts, no retries.
  // return withTransaction(deps.db, fn);
  // #endregion
}
