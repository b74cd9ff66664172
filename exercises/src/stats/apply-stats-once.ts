import { withTransaction, type Db, type DbClient } from '#runtime/db.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import type { ConsumerName } from '#runtime/queues.ts';
import { TodoError } from '#runtime/todo-error.ts';
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

/** The user_stats row a message changes: the bidder of a BidPlaced, the winner of an AuctionClosed. */
const statsRowOf = (message: AuctionEvent) => (message.type === AUCTION_CLOSED ? (message.event.winnerId ?? '') : message.event.userId);

/**
 * Several messages in one transaction: one COMMIT (one WAL flush) for the batch instead of
 * one per message. All of them commit, or none does; the same id twice in a batch is a
 * duplicate the second time, as across batches.
 *
 * They are applied in the order of what they lock, not in arrival order: the user_stats row,
 * then the message's processed_messages key. Two workers' batches that touch the same users in
 * different orders would each hold one row and wait for the other's; two that hold the same
 * messages of one user in different orders (a redelivery overlapping a batch in flight) would
 * each hold one message id and wait for the other's. Either is a deadlock, and a batch rolled
 * back. Sums do not care about the order.
 */
export function applyStatsBatch(deps: { db: Db }, batch: ReadonlyArray<{ messageId: string; message: AuctionEvent }>): Promise<Array<'applied' | 'duplicate'>> {
  const lockKey = (i: number) => [statsRowOf(batch[i]!.message), batch[i]!.messageId] as const;
  const order = batch
    .map((_, i) => i)
    .sort((a, b) => {
      const [[ra, ma], [rb, mb]] = [lockKey(a), lockKey(b)];
      return ra < rb ? -1 : ra > rb ? 1 : ma < mb ? -1 : ma > mb ? 1 : a - b;
    });
  return withTransaction(deps.db, async (tx) => {
    const outcomes = new Array<'applied' | 'duplicate'>(batch.length);
    for (const i of order) outcomes[i] = await recordOnce(tx, batch[i]!.messageId, batch[i]!.message);
    return outcomes;
  });
}
