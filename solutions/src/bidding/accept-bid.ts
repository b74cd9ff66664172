import type { BidderPhase } from '#runtime/config.ts';
import { randomUUID } from 'node:crypto';
import { sendWithCommit, type DbClient } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { AuctionEnded, BidTooLow, ItemNotFound, RequestIdReused } from '../errors.ts';
import { bidFromRow, minimumNextBid, type Bid, type DbBid, type NewBid } from './bid.ts';
import { bidderColumns, type BidderColumns } from './bidder-columns.ts';
import { insertBid } from './insert-bid.ts';
import { ReplayedRequest } from './replayed-request.ts';

export interface BidRules {
  minIncrementCents: bigint;
  /** The largest bid accepted (parseNewBid refuses more). */
  maxBidCents: bigint;
  /** Which bids columns name the bidder (milestone 5's rollout). */
  bidderPhase: BidderPhase;
  /** Told how long the item's row lock took to get, in seconds (for the lock-wait histogram). */
  observeLockWait?: (seconds: number) => void;
}

/**
 * Accepts the bid if the rules allow it, inside the caller's transaction: locks the item row,
 * checks the auction is open by the database's clock and the amount beats the highest bid by
 * the increment, records the bid as the new highest with the item's next sequence number.
 * Throws ItemNotFound, AuctionEnded, BidTooLow, or for a request id seen before ReplayedRequest
 * (the same request) or RequestIdReused (another one).
 */
export async function acceptBid(tx: DbClient, bid: NewBid, rules: BidRules): Promise<Bid> {
  // #region m3: lock the item row, check the rules by database time, record the new highest bid
  const bidder = bidderColumns(rules.bidderPhase);
  const asked = performance.now();
  const { rows: items } = await tx.query<{
    start_price_cents: bigint;
    highest_bid_cents: bigint | null;
    end_at: Date;
    ended: boolean;
    last_sequence: bigint;
    placed_at: Date;
    maybe_replayed: boolean;
  }>(
    // The select list of a FOR UPDATE query is computed when the row is read, before any
    // wait for its lock, and computed again only if the holder changed the row. Behind a
    // holder that only locked it, `ended` would be the answer of before the wait. So the row
    // is locked in the CTE, and the end judged outside it, once the lock is held.
    // clock_timestamp(), not now(): now() is when the transaction began.
    // maybe_replayed spares an accepted bid the replay check's round trip (bench api): the
    // bidder has a bid under this request id, or may have. Every read of this statement but the
    // locked row sees the snapshot taken when it started, before any wait for the lock, so a
    // copy of this request that committed during the wait is invisible to the EXISTS; but it
    // moved the item's last_sequence, which the locked row (its newest version) and a plain read
    // of the same row (the snapshot's) then disagree on.
    // last_sequence and now() tell what an accepted bid's row will hold, so the bid is known
    // before it is written: now() is the transaction's start, the same all through it, and
    // placed_at's default; the sequence is the next one, as no other transaction can move
    // last_sequence while this one holds the row's lock (insertBid, with no lock, could not know it).
    `WITH locked AS MATERIALIZED (
       SELECT start_price_cents, highest_bid_cents, end_at, last_sequence
         FROM items
        WHERE id = $1::uuid
          FOR UPDATE
     )
     SELECT start_price_cents, highest_bid_cents, end_at, end_at <= clock_timestamp() AS ended, last_sequence, now() AS placed_at,
            $2::text IS NOT NULL
            AND (EXISTS (SELECT 1 FROM bids WHERE ${bidder.matches('$3')} AND request_id = $2::text)
                 OR last_sequence <> (SELECT last_sequence FROM items WHERE id = $1::uuid)) AS maybe_replayed
       FROM locked`,
    [bid.itemId, bid.requestId ?? null, bid.userId],
  );
  rules.observeLockWait?.((performance.now() - asked) / 1000);
  const item = items[0];
  if (!item) throw new ItemNotFound(bid.itemId);
  // Under the item lock, a request already processed for this item is visible to a new statement.
  if (item.maybe_replayed) await throwIfReplayed(tx, bidder, bid);
  if (item.ended) throw new AuctionEnded(bid.itemId, item.end_at);
  const minimum = minimumNextBid(item, rules.minIncrementCents);
  if (bid.amountCents < minimum) throw new BidTooLow(bid.itemId, item.highest_bid_cents ?? undefined, minimum);
  // Both writes in one statement, sent with the COMMIT (sendWithCommit, runtime/db.ts) instead of
  // awaited: every round trip made while holding the lock is time every other bidder on this
  // item waits, and nothing here needs the statement's answer. Whatever fails in it fails the
  // COMMIT, which withTransaction throws; the bid returned here is then never reported.
  const placed: Bid = {
    id: randomUUID(),
    itemId: bid.itemId,
    userId: bid.userId,
    amountCents: bid.amountCents,
    sequence: item.last_sequence + 1n,
    placedAt: item.placed_at,
  };
  // The sequence is counted again in SQL, from the locked row: the same number, and the same
  // statement as milestone 6's pgbench script sends.
  sendWithCommit(tx, {
    text: `WITH item AS (
       UPDATE items
          SET highest_bid_cents = $3::bigint, leader_id = $2::uuid, last_sequence = last_sequence + 1
        WHERE id = $1::uuid
    RETURNING last_sequence
     )
     INSERT INTO bids (id, item_id, ${bidder.insert}, amount_cents, sequence, request_id)
     SELECT $5::uuid, $1::uuid, ${bidder.values('$2')}, $3::bigint, item.last_sequence, $4::text FROM item`,
    values: [placed.itemId, placed.userId, placed.amountCents.toString(), bid.requestId ?? null, placed.id],
  });
  return placed;
  // #stub
  // // Milestone 2's version: no lock held while checking, no rules. Milestone 3 replaces it.
  // return insertBid(tx, bid, rules.bidderPhase);
  // #endregion
}

/**
 * The answer to a request id the bidder used before, if any. The same request (same item and
 * amount) gets its original bid again (ReplayedRequest); another request under that id is
 * refused with RequestIdReused. A bid without a request id is never a replay.
 */
export async function throwIfReplayed(tx: DbClient, bidder: BidderColumns, bid: NewBid): Promise<void> {
  if (!bid.requestId) return;
  // #region m3: find the bid an earlier request with the same id produced, and whether it was this request
  // The bid row holds every field of the request (bidder, item, amount): it is the request's fingerprint.
  const { rows } = await tx.query<DbBid & { same_request: boolean }>(
    `SELECT id, item_id, ${bidder.read} AS user_id, amount_cents, sequence, placed_at,
            item_id = $3::uuid AND amount_cents = $4::bigint AS same_request
       FROM bids
      WHERE ${bidder.matches('$1')} AND request_id = $2::text`,
    [bid.userId, bid.requestId, bid.itemId, bid.amountCents.toString()],
  );
  const earlier = rows[0];
  if (!earlier) return;
  if (!earlier.same_request) throw new RequestIdReused(bid.requestId, { bidId: earlier.id, itemId: earlier.item_id, amountCents: earlier.amount_cents });
  throw new ReplayedRequest(bidFromRow(earlier));
  // #stub
  // throw new TodoError('m3', 'find a replayed request in bidding/accept-bid.ts');
  // #endregion
}
