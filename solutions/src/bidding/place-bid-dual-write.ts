// The naive version the lesson shows first: commit, then publish. Not how to do it.
import type { Amqp } from '#runtime/amqp.ts';
import type { BidderPhase } from '#runtime/config.ts';
import { withTransaction, type Db } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { currentCorrelationId, newCorrelationId } from '#runtime/logger.ts';
import { publishConfirmed } from '#runtime/publish.ts';
import { parseNewBid, type Bid } from './bid.ts';
import { bidPlacedEvent } from './bid-placed-event.ts';
import { insertBid } from './insert-bid.ts';

export async function placeBidDualWrite(
  deps: { db: Db; amqp: Amqp; config: { amqp: { exchange: string }; bidding: { maxBidCents: bigint; bidderPhase: BidderPhase } } },
  input: unknown,
): Promise<Bid> {
  const parsed = parseNewBid(input, deps.config.bidding);
  if ('error' in parsed) throw parsed.error;
  const placed = await withTransaction(deps.db, (tx) => insertBid(tx, parsed.value, deps.config.bidding.bidderPhase));
  // A crash here, or RabbitMQ being down, and the bid exists with no event, for ever.
  await failpoint('bid.after-commit');
  const event = bidPlacedEvent(placed, currentCorrelationId() ?? newCorrelationId());
  await publishConfirmed(deps.amqp, deps.config.amqp.exchange, event);
  return placed;
}
