import type { DbClient } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';

/** The backfill's row in backfill_checkpoints. */
export const CHECKPOINT = 'bids.bidder_id';

/** Before the first batch: gen_random_uuid() never makes the nil UUID (its version bits are 4). */
export const START = '00000000-0000-0000-0000-000000000000';

export interface BatchResult {
  /** The last id the batch looked at (the next batch starts after it); null when none was left. */
  lastId: string | null;
  /** Rows the batch looked at. */
  scanned: number;
  /** Rows it filled: the others already had a bidder_id (written by the trigger or the new version). */
  filled: number;
}

/**
 * Fills bidder_id for the next batchSize bids after `afterId` in primary-key order, and moves
 * the checkpoint to the last of them, in the caller's transaction: a batch and its checkpoint
 * commit together, so a killed run resumes exactly after the last batch that committed.
 */
export async function fillBidderBatch(tx: DbClient, afterId: string, batchSize: number): Promise<BatchResult> {
  // #region m5: fill one keyset batch and move the checkpoint in the same statement
  throw new TodoError('m5', 'fill one batch of bids.bidder_id in backfill/fill-bidder-batch.ts');
  // #endregion
}

/** Where the last run stopped: START when none ran yet. */
export async function readCheckpoint(tx: DbClient): Promise<{ lastId: string; rowsFilled: bigint }> {
  // #region m5: read the checkpoint
  throw new TodoError('m5', 'read the backfill checkpoint in backfill/fill-bidder-batch.ts');
  // #endregion
}
