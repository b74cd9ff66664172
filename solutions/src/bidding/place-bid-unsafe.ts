// The read-then-write version the lesson shows first: the rules are checked against a read
// that no lock protects, so two bids can both pass against the same old price. Not how to do it.
import { withTransaction, type Db } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { AuctionEnded, BidTooLow, ItemNotFound } from '../errors.ts';
import type { BidderPhase } from '#runtime/config.ts';
import { bidFromRow, minimumNextBid, parseNewBid, type Bid, type DbBid } from './bid.ts';
import { bidderColumns } from './bidder-columns.ts';

export async function placeBidUnsafe(
  deps: { db: Db; config: { bidding: { minIncrementCents: bigint; maxBidCents: bigint; bidderPhase: BidderPhase } } },
  input: unknown,
): Promise<Bid> {
  const parsed = parseNewBid(input, deps.config.bidding);
  if ('error' in parsed) throw parsed.error;
  const bid = parsed.value;
  const bidder = bidderColumns(deps.config.bidding.bidderPhase);
  return withTransaction(deps.db, async (tx) => {
    const { rows: items } = await tx.query<{ start_price_cents: bigint; highest_bid_cents: bigint | null; end_at: Date; ended: boolean }>(
      'SELECT start_price_cents, highest_bid_cents, end_at, end_at <= now() AS ended FROM items WHERE id = $1::uuid',
      [bid.itemId],
    );
    const item = items[0];
    if (!item) throw new ItemNotFound(bid.itemId);
    if (item.ended) throw new AuctionEnded(bid.itemId, item.end_at);
    const minimum = minimumNextBid(item, deps.config.bidding.minIncrementCents);
    if (bid.amountCents < minimum) throw new BidTooLow(bid.itemId, item.highest_bid_cents ?? undefined, minimum);
    // Another bid can commit right here; this one then writes over it with a stale check.
    await failpoint('bid.after-read');
    const { rows: updated } = await tx.query<{ last_sequence: bigint }>(
      'UPDATE items SET highest_bid_cents = $2::bigint, leader_id = $3::uuid, last_sequence = last_sequence + 1 WHERE id = $1::uuid RETURNING last_sequence',
      [bid.itemId, bid.amountCents.toString(), bid.userId],
    );
    const { rows } = await tx.query<DbBid>(
      `INSERT INTO bids (item_id, ${bidder.insert}, amount_cents, sequence) VALUES ($1::uuid, ${bidder.values('$2')}, $3::bigint, $4::bigint)
       RETURNING id, item_id, ${bidder.read} AS user_id, amount_cents, sequence, placed_at`,
      [bid.itemId, bid.userId, bid.amountCents.toString(), updated[0]!.last_sequence.toString()],
    );
    return bidFromRow(rows[0]!);
  });
}
