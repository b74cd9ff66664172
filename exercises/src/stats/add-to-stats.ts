import type { DbClient } from '#runtime/db.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import { failpoint } from '#runtime/failpoints.ts';

/**
 * The effect of events on the users' stats: a bid adds to its bidder's bids_placed; a won
 * auction adds to its winner's auctions_won and its final price to total_spent_cents. Not
 * idempotent on its own: every call adds again. Runs in the caller's transaction.
 */
export async function addToStats(tx: DbClient, messages: readonly AuctionEvent[]): Promise<void> {
  await effect(tx, messages);
  // A consumer dying here has applied nothing: its transaction never commits.
  await failpoint('stats.before-commit');
}

/**
 * One statement whatever the number of messages: a round trip costs the consumer more than the
 * rows do. The messages are summed per user first (ON CONFLICT DO UPDATE may change a row only
 * once per statement), and the rows are written in user order, so two transactions lock the
 * users they share in the same order and cannot deadlock on them.
 */
async function effect(tx: DbClient, messages: readonly AuctionEvent[]): Promise<void> {
  const users: string[] = [];
  const bids: number[] = [];
  const won: number[] = [];
  const spent: string[] = [];
  for (const message of messages) {
    if (message.type === AUCTION_CLOSED) {
      const { winnerId, finalPriceCents } = message.event;
      if (!winnerId) continue; // nobody bid: nobody's stats change
      users.push(winnerId), bids.push(0), won.push(1), spent.push(finalPriceCents.toString());
    } else users.push(message.event.userId), bids.push(1), won.push(0), spent.push('0');
  }
  if (users.length === 0) return;
  await tx.query(
    `INSERT INTO user_stats (user_id, bids_placed, auctions_won, total_spent_cents)
     SELECT user_id, sum(bids), sum(won), sum(spent)::bigint
       FROM unnest($1::uuid[], $2::int[], $3::int[], $4::bigint[]) AS e(user_id, bids, won, spent)
      GROUP BY user_id
      ORDER BY user_id
     ON CONFLICT (user_id) DO UPDATE
        SET bids_placed = user_stats.bids_placed + EXCLUDED.bids_placed,
            auctions_won = user_stats.auctions_won + EXCLUDED.auctions_won,
            total_spent_cents = user_stats.total_spent_cents + EXCLUDED.total_spent_cents`,
    [users, bids, won, spent],
  );
}
