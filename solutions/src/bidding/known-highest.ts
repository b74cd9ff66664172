import { withClient, type Db } from '#shared/db.ts';
import { AuctionEnded, BidTooLow, ItemNotFound } from '../errors.ts';
import { minimumNextBid, type NewBid } from './bid.ts';
import { bidderColumns } from './bidder-columns.ts';
import type { BidRules } from './accept-bid.ts';
import { throwIfReplayed } from './accept-bid.ts';

/**
 * The highest bid this process has seen committed, per item, per database pool. An item's
 * highest bid only ever rises, so a value seen committed is a lower bound of the truth from
 * then on: a bid below it plus the increment can be refused without waiting for the item's
 * row lock. A value that lags the truth only lets a too-low bid through to the locked check,
 * which stays the authority on acceptance; it never refuses a bid the lock would accept.
 * (Restoring the database to an earlier point breaks "only rises": restart bid-service then,
 * which a restore does anyway, since the pool is new.)
 */
const seen = new WeakMap<Db, Map<string, bigint>>();

/** Records a highest bid read or written committed: after COMMIT, or read under the item's lock. Never lowers what is known. */
export function knowHighest(db: Db, itemId: string, highestCents: bigint | null | undefined): void {
  if (highestCents === null || highestCents === undefined) return;
  const items = seen.get(db) ?? seen.set(db, new Map()).get(db)!;
  const known = items.get(itemId);
  if (known === undefined || highestCents > known) items.set(itemId, highestCents);
}

/** The smallest amount the known highest bid still allows, or undefined when nothing is known. */
export function knownMinimum(db: Db, itemId: string, minIncrementCents: bigint): bigint | undefined {
  const known = seen.get(db)?.get(itemId);
  return known === undefined ? undefined : known + minIncrementCents;
}

/**
 * Refuses, without taking or waiting for the item's row lock, a bid that a committed highest
 * bid already beats. Returns when it cannot tell (nothing known, or the amount is high
 * enough): the locked check decides then. Before refusing it asks the database once, without
 * a lock, so the refusal is the one the locked check would give: a replayed request gets its
 * original answer, an ended auction AuctionEnded by the database's clock, and BidTooLow
 * carries the freshest committed highest bid.
 */
export async function refuseIfKnownTooLow(db: Db, bid: NewBid, rules: BidRules): Promise<void> {
  // #region m3: refuse a bid a committed highest bid already beats, without waiting for the lock
  const minimum = knownMinimum(db, bid.itemId, rules.minIncrementCents);
  if (minimum === undefined || bid.amountCents >= minimum) return;
  await withClient(db, async (client) => {
    // A plain read: the latest committed row, whoever holds its lock. No FOR UPDATE, no wait.
    const { rows } = await client.query<{ start_price_cents: bigint; highest_bid_cents: bigint | null; end_at: Date; ended: boolean }>(
      `SELECT start_price_cents, highest_bid_cents, end_at, end_at <= clock_timestamp() AS ended FROM items WHERE id = $1::uuid`,
      [bid.itemId],
    );
    const item = rows[0];
    if (!item) throw new ItemNotFound(bid.itemId);
    knowHighest(db, bid.itemId, item.highest_bid_cents);
    // The locked check's order: a replay first, then the end, then the amount.
    await throwIfReplayed(client, bidderColumns(rules.bidderPhase), bid);
    if (item.ended) throw new AuctionEnded(bid.itemId, item.end_at);
    const fresh = minimumNextBid(item, rules.minIncrementCents);
    if (bid.amountCents < fresh) throw new BidTooLow(bid.itemId, item.highest_bid_cents ?? undefined, fresh);
  });
  // #stub
  // // Milestone 2's version knows nothing: every bid goes on to the locked check.
  // void db;
  // void bid;
  // void rules;
  // #endregion
}
