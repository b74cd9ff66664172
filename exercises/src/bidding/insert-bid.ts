import type { DbClient } from '#runtime/db.ts';
import { ItemNotFound } from '../errors.ts';
import type { BidderPhase } from '#runtime/config.ts';
import { bidFromRow, type Bid, type DbBid, type NewBid } from './bid.ts';
import { bidderColumns } from './bidder-columns.ts';

/**
 * Inserts a bid with the item's next sequence number, inside the caller's transaction.
 * The UPDATE holds the item's row lock until that transaction ends, so bids on one item get
 * their numbers in commit order: the property the outbox relay's per-item ordering rests on.
 */
export async function insertBid(tx: DbClient, bid: NewBid, bidderPhase: BidderPhase): Promise<Bid> {
  const bidder = bidderColumns(bidderPhase);
  const { rows: items } = await tx.query<{ last_sequence: bigint }>(
    `UPDATE items
        SET last_sequence = last_sequence + 1
      WHERE id = $1::uuid
  RETURNING last_sequence`,
    [bid.itemId],
  );
  if (!items[0]) throw new ItemNotFound(bid.itemId);
  const { rows } = await tx.query<DbBid>(
    `INSERT INTO bids (item_id, ${bidder.insert}, amount_cents, sequence)
     VALUES ($1::uuid, ${bidder.values('$2')}, $3::bigint, $4::bigint)
  RETURNING id, item_id, ${bidder.read} AS user_id, amount_cents, sequence, placed_at`,
    [bid.itemId, bid.userId, bid.amountCents.toString(), items[0].last_sequence.toString()],
  );
  return bidFromRow(rows[0]!);
}
