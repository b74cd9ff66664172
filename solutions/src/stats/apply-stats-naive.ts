import { withTransaction, type Db } from '#runtime/db.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import { addToStats } from './add-to-stats.ts';

/**
 * The naive consumer the lesson shows first: apply every message it is given. Delivered at
 * least once, a message delivered twice is counted twice.
 */
export async function applyStatsNaive(deps: { db: Db }, _messageId: string, message: AuctionEvent): Promise<'applied'> {
  await withTransaction(deps.db, (tx) => addToStats(tx, [message]));
  return 'applied';
}
