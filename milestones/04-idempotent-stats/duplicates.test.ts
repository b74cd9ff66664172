// Milestone 4 · the same message twice must not count twice.
import { describe, expect, it } from 'vitest';
import { applyStatsBatch, applyStatsOnce } from '#app/stats/apply-stats-once.ts';
import { applyStatsNaive } from '#app/stats/apply-stats-naive.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import { BID_PLACED } from '#runtime/events/bid-placed.ts';
import { clearFailpoints, setFailpoint } from '#runtime/failpoints.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, auctionClosed, bidPlaced, inProcessConsumers, usePublisher, statsOf } from './fixtures.ts';

const env = useTestEnv();
const published = usePublisher(env);

describe('a duplicated AuctionClosed', () => {
  it('doubles the winner’s total with the naive consumer, and changes it once with applyStatsOnce', async () => {
    const naiveWinner = aBidder();
    const naive = { type: AUCTION_CLOSED, event: auctionClosed({ winnerId: naiveWinner, finalPriceCents: 50_000n }) } as const;
    await applyStatsNaive(env, naive.event.eventId, naive);
    await applyStatsNaive(env, naive.event.eventId, naive);
    const winner = aBidder();
    const message = { type: AUCTION_CLOSED, event: auctionClosed({ winnerId: winner, finalPriceCents: 50_000n }) } as const;
    const outcomes = [await applyStatsOnce(env, message.event.eventId, message), await applyStatsOnce(env, message.event.eventId, message)];

    expect({ naive: await statsOf(env.db, naiveWinner), once: await statsOf(env.db, winner) }).toEqual({
      naive: { bids_placed: 0n, auctions_won: 2n, total_spent_cents: 100_000n },
      once: { bids_placed: 0n, auctions_won: 1n, total_spent_cents: 50_000n },
    });
    expect(outcomes, 'what applyStatsOnce answered each time').toEqual(['applied', 'duplicate']);
  });

  it('ten copies at once, to two consumers on one queue: the totals change once, every copy is acked', async () => {
    const consumers = await inProcessConsumers(env, { copies: 2 });
    try {
      const winner = aBidder();
      const event = auctionClosed({ winnerId: winner, finalPriceCents: 7_700n });
      const bid = bidPlaced({ userId: winner, itemId: event.itemId });
      await Promise.all([...Array.from({ length: 10 }, () => published.current.closed(event)), published.current.bid(bid), published.current.bid(bid)]);
      await eventually(
        () => consumers.handled(),
        (n) => n === 12,
        'messages handled by the two consumers',
      );
      expect(await statsOf(env.db, winner)).toEqual({ bids_placed: 1n, auctions_won: 1n, total_spent_cents: 7_700n });
      expect({ applied: await consumers.handled('applied'), duplicate: await consumers.handled('duplicate') }).toEqual({ applied: 2, duplicate: 10 });
      expect(await published.current.depth(consumers.consumers[0]!.queue), 'messages left in the queue').toBe(0);
    } finally {
      await consumers.close();
    }
  });

  it('a redelivered BidPlaced counts the bid once; an auction nobody won changes nobody', async () => {
    const bidder = aBidder();
    const bid = { type: BID_PLACED, event: bidPlaced({ userId: bidder }) } as const;
    for (let i = 0; i < 3; i++) await applyStatsOnce(env, bid.event.eventId, bid);
    const unsold = { type: AUCTION_CLOSED, event: auctionClosed({ winnerId: undefined, finalPriceCents: 0n, bidCount: 0n }) } as const;
    expect(await applyStatsOnce(env, unsold.event.eventId, unsold)).toBe('applied');
    expect(await statsOf(env.db, bidder)).toEqual({ bids_placed: 1n, auctions_won: 0n, total_spent_cents: 0n });
    expect((await env.db.query('SELECT count(*)::int AS n FROM user_stats WHERE total_spent_cents > 0 AND auctions_won = 0')).rows[0].n).toBe(0);
  });
});

describe('batches from several consumers at once', () => {
  it('touching the same users in different orders, they all commit (no deadlock), each answer in its message’s place', async () => {
    const users = Array.from({ length: 8 }, aBidder);
    const batchOf = (order: string[]) =>
      order.map((userId) => {
        const event = bidPlaced({ userId });
        return { messageId: event.eventId, message: { type: BID_PLACED, event } as const };
      });
    // Six workers' batches: the same eight users, rotated or reversed.
    const batches = Array.from({ length: 6 }, (_, i) => batchOf(i % 2 ? [...users].reverse() : [...users.slice(i), ...users.slice(0, i)]));
    const results = await Promise.allSettled(batches.map((batch) => applyStatsBatch(env, batch)));
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
      'batches that failed',
    ).toEqual([]);
    for (const user of users) expect((await statsOf(env.db, user))?.bids_placed, `bids of ${user}`).toBe(6n);

    const [first, second] = batchOf([users[7]!, users[0]!]);
    expect(await applyStatsBatch(env, [first!, second!, first!]), 'a batch with a message twice').toEqual(['applied', 'applied', 'duplicate']);
  });

  it('holding the same messages of one user in different orders, both commit (no deadlock on the message ids)', async () => {
    const user = aBidder();
    const [m1, m2] = [bidPlaced({ userId: user }), bidPlaced({ userId: user })].map((event) => ({
      messageId: event.eventId,
      message: { type: BID_PLACED, event } as const,
    }));
    // Each batch pauses inside its transaction after its writes, so the two overlap: the second
    // batch's insert meets ids the first holds and waits for its commit. (Both ids go in one
    // statement each, in sorted order; unsorted, the two statements deadlock only when they
    // run at the same microsecond, so this checks the answers more than the order.)
    setFailpoint('stats.before-commit', 'delay(300)');
    try {
      const results = await Promise.allSettled([applyStatsBatch(env, [m1!, m2!]), applyStatsBatch(env, [m2!, m1!])]);
      expect(
        results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
        'batches that failed',
      ).toEqual([]);
      const outcomes = results.map((r) => (r as PromiseFulfilledResult<string[]>).value.join(','));
      expect(outcomes.sort(), 'one batch applied both, the other found both applied').toEqual(['applied,applied', 'duplicate,duplicate']);
    } finally {
      clearFailpoints();
    }
    expect((await statsOf(env.db, user))?.bids_placed).toBe(2n);
  });
});
