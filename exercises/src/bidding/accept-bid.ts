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
  // Milestone 2's version: no lock held while checking, no rules. Milestone 3 replaces it.
  return insertBid(tx, bid, rules.bidderPhase);
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
  throw new TodoError('m3', 'find a replayed request in bidding/accept-bid.ts');
  // #endregion
}
