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
  // Keyset, not OFFSET: the index finds where the batch starts, however far along the run is.
  const { rows } = await tx.query<{ last_id: string | null; scanned: string; filled: string }>(
    `WITH batch AS (
       SELECT id FROM bids WHERE id > $1::uuid ORDER BY id LIMIT $2
     ), filled AS (
       UPDATE bids
          SET bidder_id = bids.user_id::text
         FROM batch
        WHERE bids.id = batch.id
          AND bids.bidder_id IS NULL
    RETURNING 1
     ), last AS (
       SELECT id FROM batch ORDER BY id DESC LIMIT 1
     ), checkpoint AS (
       INSERT INTO backfill_checkpoints AS c (name, last_id, rows_filled)
       SELECT $3, last.id, (SELECT count(*) FROM filled) FROM last
           ON CONFLICT (name) DO UPDATE
          SET last_id = excluded.last_id, rows_filled = c.rows_filled + excluded.rows_filled, updated_at = now()
     )
     SELECT (SELECT id FROM last) AS last_id, (SELECT count(*) FROM batch) AS scanned, (SELECT count(*) FROM filled) AS filled`,
    [afterId, batchSize, CHECKPOINT],
  );
  const row = rows[0]!;
  return { lastId: row.last_id, scanned: Number(row.scanned), filled: Number(row.filled) };
  // #stub
  // throw new TodoError('m5', 'fill one batch of bids.bidder_id in backfill/fill-bidder-batch.ts');
  // #endregion
}

/** Where the last run stopped: START when none ran yet. */
export async function readCheckpoint(tx: DbClient): Promise<{ lastId: string; rowsFilled: bigint }> {
  // #region m5: read the checkpoint
  const { rows } = await tx.query<{ last_id: string; rows_filled: bigint }>('SELECT last_id, rows_filled FROM backfill_checkpoints WHERE name = $1', [
    CHECKPOINT,
  ]);
  return rows[0] ? { lastId: rows[0].last_id, rowsFilled: rows[0].rows_filled } : { lastId: START, rowsFilled: 0n };
  // #stub
  // throw new TodoError('m5', 'read the backfill checkpoint in backfill/fill-bidder-batch.ts');
  // #endregion
}
