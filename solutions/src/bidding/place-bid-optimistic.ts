import type { Db, DbClient } from '#runtime/db.ts';
import { currentCorrelationId, newCorrelationId } from '#runtime/logger.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { AuctionEnded, BidTooLow, ItemNotFound } from '../errors.ts';
import { enqueueEvent } from '../outbox/enqueue-event.ts';
import { wakeRelay } from '../outbox/wake-relay.ts';
import type { BidRules } from './accept-bid.ts';
import { throwIfReplayed } from './accept-bid.ts';
import { bidFromRow, minimumNextBid, parseNewBid, type Bid, type DbBid, type NewBid } from './bid.ts';
import { bidPlacedEvent } from './bid-placed-event.ts';
import { bidderColumns } from './bidder-columns.ts';
import { runBidTransaction, type BidTransactionConfig } from './bid-transaction.ts';

/**
 * The optimistic comparison: no SELECT … FOR UPDATE; one conditional UPDATE both checks the
 * rules and records the bid, and PostgreSQL re-checks its WHERE against the latest row
 * version when it had to wait for a concurrent writer. Same contract as placeBid.
 */
export async function placeBidOptimistic(deps: { db: Db; config: { bidding: BidRules & BidTransactionConfig } }, input: unknown): Promise<Bid> {
  const parsed = parseNewBid(input, deps.config.bidding);
  if ('error' in parsed) throw parsed.error;
  const correlationId = currentCorrelationId() ?? newCorrelationId();
  const placed = await runBidTransaction(deps, parsed.value.itemId, async (tx) => {
    const bid = await acceptBidOptimistic(tx, parsed.value, deps.config.bidding);
    await enqueueEvent(tx, bidPlacedEvent(bid, correlationId));
    return bid;
  });
  wakeRelay(deps.db);
  return placed;
}

export async function acceptBidOptimistic(tx: DbClient, bid: NewBid, rules: BidRules): Promise<Bid> {
  // #region m3: accept the bid with one conditional UPDATE, and say why when it matched nothing
  const bidder = bidderColumns(rules.bidderPhase);
  await throwIfReplayed(tx, bidder, bid);
  // The check and both writes in one statement: no lock is taken before the UPDATE itself.
  // The WHERE is judged when the row is read. If another session holds the row's lock, the
  // UPDATE waits, and judges the WHERE again only if that session changed the row; behind
  // one that only locked it, the old answer stands. RETURNING is computed after the wait:
  // an end that passed meanwhile stops the INSERT, and the AuctionEnded thrown below rolls
  // the UPDATE back.
  const { rows: inserted } = await tx.query<DbBid>(
    `WITH item AS (
       UPDATE items
          SET highest_bid_cents = $2::bigint, leader_id = $3::uuid, last_sequence = last_sequence + 1
        WHERE id = $1::uuid
          AND end_at > clock_timestamp()
          AND $2::bigint >= coalesce(highest_bid_cents + $4::bigint, start_price_cents)
    RETURNING last_sequence, end_at > clock_timestamp() AS still_open
     )
     INSERT INTO bids (item_id, ${bidder.insert}, amount_cents, sequence, request_id)
     SELECT $1::uuid, ${bidder.values('$3')}, $2::bigint, item.last_sequence, $5::text FROM item WHERE item.still_open
  RETURNING id, item_id, ${bidder.read} AS user_id, amount_cents, sequence, placed_at`,
    [bid.itemId, bid.amountCents.toString(), bid.userId, rules.minIncrementCents.toString(), bid.requestId ?? null],
  );
  if (!inserted[0]) {
    // Nothing matched: find out why, from the row as it is now.
    await throwIfReplayed(tx, bidder, bid);
    const { rows } = await tx.query<{ start_price_cents: bigint; highest_bid_cents: bigint | null; end_at: Date; ended: boolean }>(
      'SELECT start_price_cents, highest_bid_cents, end_at, end_at <= clock_timestamp() AS ended FROM items WHERE id = $1::uuid',
      [bid.itemId],
    );
    const item = rows[0];
    if (!item) throw new ItemNotFound(bid.itemId);
    if (item.ended) throw new AuctionEnded(bid.itemId, item.end_at);
    const minimum = minimumNextBid(item, rules.minIncrementCents);
    throw new BidTooLow(bid.itemId, item.highest_bid_cents ?? undefined, minimum);
  }
  return bidFromRow(inserted[0]);
  // #stub
  // throw new TodoError('m3', 'accept a bid optimistically in bidding/place-bid-optimistic.ts');
  // #endregion
}
