import { withTransaction, type Db } from '#shared/db.ts';
import type { AuctionEvent } from '#shared/events/decode.ts';
import type { ConsumerName } from '#shared/queues.ts';
import { TodoError } from '#shared/todo-error.ts';
import { addToStats } from './add-to-stats.ts';

export const STATS_CONSUMER = 'user-stats' satisfies ConsumerName;

/**
 * Applies the message to the user's stats exactly once per message id: the id is recorded in
 * processed_messages in the same transaction as the effect, so both commit or neither does.
 * A message already recorded changes nothing and returns 'duplicate'.
 */
export async function applyStatsOnce(deps: { db: Db }, messageId: string, message: AuctionEvent): Promise<'applied' | 'duplicate'> {
  // #region m4: record the message id and apply its effect in one transaction; a known id is a duplicate
  return withTransaction(deps.db, async (tx) => {
    // The primary key decides, not a read-then-check: two consumers given the same message at
    // once both try this insert, and the second waits for the first and then inserts nothing.
    const { rowCount } = await tx.query(
      `INSERT INTO processed_messages (consumer, message_id)
       VALUES ($1::text, $2::uuid)
       ON CONFLICT DO NOTHING`,
      [STATS_CONSUMER, messageId],
    );
    if (rowCount === 0) return 'duplicate';
    await addToStats(tx, message);
    return 'applied';
  });
  // #stub
  // throw new TodoError('m4', 'apply each message once in stats/apply-stats-once.ts');
  // #endregion
}
