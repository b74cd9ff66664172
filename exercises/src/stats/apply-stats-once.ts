import { withTransaction, type Db, type DbClient } from '#runtime/db.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import type { ConsumerName } from '#runtime/queues.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { addToStats } from './add-to-stats.ts';

export const STATS_CONSUMER = 'user-stats' satisfies ConsumerName;

export type Applied = 'applied' | 'duplicate';

/**
 * Inside the caller's transaction: records the messages' ids in processed_messages and applies
 * the effect of each message whose id was not recorded yet ('applied'); a message whose id is
 * already recorded, by an earlier transaction or earlier in this batch, changes nothing
 * ('duplicate'). The ids and the effects commit together, or none does. One answer per
 * message, in the batch's order.
 */
export async function recordOnce(tx: DbClient, batch: ReadonlyArray<{ messageId: string; message: AuctionEvent }>): Promise<Applied[]> {
  // #region m4: record the messages' ids and apply the effects of the new ones in the caller's transaction; a known id is a duplicate
  throw new TodoError('m4', 'record the messages and apply each once in stats/apply-stats-once.ts');
  // #endregion
}

/** One message in its own transaction. */
export async function applyStatsOnce(deps: { db: Db }, messageId: string, message: AuctionEvent): Promise<Applied> {
  const [outcome] = await withTransaction(deps.db, (tx) => recordOnce(tx, [{ messageId, message }]));
  return outcome!;
}

/**
 * Several messages in one transaction: one COMMIT (one WAL flush) for the batch instead of
 * one per message, and two statements (recordOnce's insert, addToStats' update) instead of
 * two per message. All of them commit, or none does; the same id twice in a batch is a
 * duplicate the second time, as across batches.
 *
 * recordOnce inserts the ids in the order it is given them, so it is given them sorted: two
 * batches that hold some of the same messages (a redelivery overlapping a batch in flight)
 * then wait for each other's ids in the same order, never each holding one the other needs,
 * which would be a deadlock and a batch rolled back. addToStats then locks the users' rows in
 * user order, for the same reason. Sums do not care about the order; the answers go back in
 * the batch's order.
 */
export async function applyStatsBatch(deps: { db: Db }, batch: ReadonlyArray<{ messageId: string; message: AuctionEvent }>): Promise<Applied[]> {
  const order = batch
    .map((m, i) => ({ id: m.messageId.toLowerCase(), i }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.i - b.i))
    .map(({ i }) => i);
  const sorted = await withTransaction(deps.db, (tx) =>
    recordOnce(
      tx,
      order.map((i) => batch[i]!),
    ),
  );
  const outcomes = new Array<Applied>(batch.length);
  for (const [k, i] of order.entries()) outcomes[i] = sorted[k]!;
  return outcomes;
}
