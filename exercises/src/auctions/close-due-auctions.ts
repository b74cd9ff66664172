import { withTransaction, type Db } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { enqueueEvent } from '../outbox/enqueue-event.ts';
import { wakeRelay } from '../outbox/wake-relay.ts';
import { auctionClosedEvent, type ClosedAuction } from './auction-closed-event.ts';

/**
 * Settles up to `batchSize` auctions whose end has passed by the database's clock, in one
 * transaction: each gets status 'closed', its winner and final price, and an AuctionClosed
 * event in the outbox. Auctions another closer (or a bid) holds locked are skipped, not waited
 * for: the next round takes them. Returns the auctions it closed.
 */
export async function closeDueAuctions(deps: { db: Db }, options: { batchSize: number; correlationId: string }): Promise<ClosedAuction[]> {
  // #region m4: claim ended auctions with SKIP LOCKED, close them and enqueue AuctionClosed, in one transaction
  throw new TodoError('m4', 'close ended auctions in auctions/close-due-auctions.ts');
  // #endregion
}
