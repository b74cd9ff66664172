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
  const closed = await withTransaction(deps.db, async (tx) => {
    const { rows } = await tx.query<{ id: string; winner_id: string | null; final_price_cents: bigint | null; last_sequence: bigint; closed_at: Date }>(
      `WITH due AS (
         SELECT id
           FROM items
          WHERE status = 'open' AND end_at <= now()
          ORDER BY end_at
          LIMIT $1
            FOR UPDATE SKIP LOCKED
       )
       UPDATE items i
          SET status = 'closed',
              winner_id = i.leader_id,
              final_price_cents = i.highest_bid_cents,
              closed_at = now(),
              last_sequence = i.last_sequence + 1
         FROM due
        WHERE i.id = due.id
    RETURNING i.id, i.winner_id, i.final_price_cents, i.last_sequence, i.closed_at`,
      [options.batchSize],
    );
    const closed = rows.map(
      (r): ClosedAuction => ({
        itemId: r.id,
        winnerId: r.winner_id ?? undefined,
        finalPriceCents: r.final_price_cents ?? 0n,
        // Only bids move the sequence while the auction is open; the close is one more.
        bidCount: r.last_sequence - 1n,
        sequence: r.last_sequence,
        closedAt: r.closed_at,
      }),
    );
    for (const auction of closed) await enqueueEvent(tx, auctionClosedEvent(auction, options.correlationId));
    await failpoint('closer.before-commit');
    return closed;
  });
  // After the COMMIT (wake-relay.ts says why not in the transaction).
  if (closed.length > 0) wakeRelay(deps.db);
  return closed;
  // #stub
  // throw new TodoError('m4', 'close ended auctions in auctions/close-due-auctions.ts');
  // #endregion
}
