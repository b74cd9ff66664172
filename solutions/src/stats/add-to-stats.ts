import type { DbClient } from '#runtime/db.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import { failpoint } from '#runtime/failpoints.ts';

/**
 * The effect of one event on the user's stats: a bid adds to bids_placed; a won auction adds
 * to auctions_won and its final price to total_spent_cents. Not idempotent on its own: every
 * call adds again. Runs in the caller's transaction.
 */
export async function addToStats(tx: DbClient, message: AuctionEvent): Promise<void> {
  await effect(tx, message);
  // A consumer dying here has applied nothing: its transaction never commits.
  await failpoint('stats.before-commit');
}

async function effect(tx: DbClient, message: AuctionEvent): Promise<void> {
  if (message.type === AUCTION_CLOSED) {
    const { winnerId, finalPriceCents } = message.event;
    if (!winnerId) return; // nobody bid: nobody's stats change
    await tx.query(
      `INSERT INTO user_stats (user_id, auctions_won, total_spent_cents)
       VALUES ($1::uuid, 1, $2::bigint)
       ON CONFLICT (user_id) DO UPDATE
          SET auctions_won = user_stats.auctions_won + 1,
              total_spent_cents = user_stats.total_spent_cents + EXCLUDED.total_spent_cents`,
      [winnerId, finalPriceCents.toString()],
    );
    return;
  }
  await tx.query(
    `INSERT INTO user_stats (user_id, bids_placed)
     VALUES ($1::uuid, 1)
     ON CONFLICT (user_id) DO UPDATE
        SET bids_placed = user_stats.bids_placed + 1`,
    [message.event.userId],
  );
}
