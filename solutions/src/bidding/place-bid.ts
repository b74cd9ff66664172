import type { Db } from '#shared/db.ts';
import { failpoint } from '#shared/failpoints.ts';
import { currentCorrelationId, newCorrelationId } from '#shared/logger.ts';
import { TodoError } from '#shared/todo-error.ts';
import { enqueueEvent } from '../outbox/enqueue-event.ts';
import { parseNewBid, type Bid } from './bid.ts';
import { bidPlacedEvent } from './bid-placed-event.ts';
import { acceptBid, type BidRules } from './accept-bid.ts';
import { runBidTransaction, type BidTransactionConfig } from './bid-transaction.ts';

/**
 * Places a bid. The bid and its BidPlaced event commit together, or neither does; the
 * outbox relay publishes the event afterwards, at least once. runBidTransaction and
 * acceptBid hold milestone 3's rules; until then they are milestone 2's plain versions.
 * Bad input throws a ValidationError, an unknown item ItemNotFound; nothing is written then.
 */
export async function placeBid(deps: { db: Db; config: { bidding: BidRules & BidTransactionConfig } }, input: unknown): Promise<Bid> {
  const parsed = parseNewBid(input, deps.config.bidding);
  if ('error' in parsed) throw parsed.error;
  const correlationId = currentCorrelationId() ?? newCorrelationId();
  let placed: Bid;
  // #region m2: write the bid and its BidPlaced event in one transaction
  placed = await runBidTransaction(deps, parsed.value.itemId, async (tx) => {
    const bid = await acceptBid(tx, parsed.value, deps.config.bidding);
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
