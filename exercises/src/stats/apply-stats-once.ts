import { withTransaction, type Db, type DbClient } from '#shared/db.ts';
import type { AuctionEvent } from '#shared/events/decode.ts';
import type { ConsumerName } from '#shared/queues.ts';
import { TodoError } from '#shared/todo-error.ts';
import { addToStats } from './add-to-stats.ts';

export const STATS_CONSUMER = 'user-stats' satisfies ConsumerName;

/**
 * Inside the caller's transaction: records the message id in processed_messages and applies
 * the message's effect, or, when the id is already recorded, changes nothing and returns
 * 'duplicate'. The id and the effect commit together, or neither does.
 */
export async function recordOnce(tx: DbClient, messageId: string, message: AuctionEvent): Promise<'applied' | 'duplicate'> {
  // #region m4: record the message id and apply its effect in the caller's transaction; a known id is a duplicate
  throw new TodoError('m4', 'record the message and apply it once in stats/apply-stats-once.ts');
  // #endregion
}

/** One message in its own transaction. */
export function applyStatsOnce(deps: { db: Db }, messageId: string, message: AuctionEvent): Promise<'applied' | 'duplicate'> {
  return withTransaction(deps.db, (tx) => recordOnce(tx, messageId, message));
}

/**
 * Several messages in one transaction: one COMMIT (one WAL flush) for the batch instead of
 * one per message. All of them commit, or none does; the same id twice in a batch is a
 * duplicate the second time, as across batches.
 */
export function applyStatsBatch(deps: { db: Db }, batch: ReadonlyArray<{ messageId: string; message: AuctionEvent }>): Promise<Array<'applied' | 'duplicate'>> {
  return withTransaction(deps.db, async (tx) => {
    const outcomes: Array<'applied' | 'duplicate'> = [];
    for (const { messageId, message } of batch) outcomes.push(await recordOnce(tx, messageId, message));
    return outcomes;
  });
}
