import { withTransaction, type Db } from '#shared/db.ts';
import { failpoint } from '#shared/failpoints.ts';
import { currentCorrelationId, newCorrelationId } from '#shared/logger.ts';
import { TodoError } from '#shared/todo-error.ts';
import { enqueueEvent } from '../outbox/enqueue-event.ts';
import { parseNewBid, type Bid } from './bid.ts';
import { bidPlacedEvent } from './bid-placed-event.ts';
import { insertBid } from './insert-bid.ts';

/**
 * Places a bid. The bid and its BidPlaced event commit together, or neither does; the
 * outbox relay publishes the event afterwards, at least once.
 * Bad input throws a ValidationError, an unknown item ItemNotFound; nothing is written then.
 */
export async function placeBid(deps: { db: Db }, input: unknown): Promise<Bid> {
  const parsed = parseNewBid(input);
  if ('error' in parsed) throw parsed.error;
  const correlationId = currentCorrelationId() ?? newCorrelationId();
  let placed: Bid;
  // #region m2: write the bid and its BidPlaced event in one transaction
  placed = await withTransaction(deps.db, async (tx) => {
    const bid = await insertBid(tx, parsed.value);
    await enqueueEvent(tx, bidPlacedEvent(bid, correlationId));
    return bid;
  });
  // #stub
  // throw new TodoError('m2', 'place the bid and its event in one transaction in bidding/place-bid.ts');
  // #endregion
  // The power cut the lesson asks about: committed, nothing published yet.
  await failpoint('bid.after-commit');
  return placed;
}
