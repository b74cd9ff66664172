// Milestone 3 · bid rules under contention, for the locking placeBid and the optimistic variant alike.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { placeBidOptimistic } from '#app/bidding/place-bid-optimistic.ts';
import { AuctionEnded, BidTooLow } from '#app/errors.ts';
import { bidPlacedFromProto } from '#runtime/events/bid-placed.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { rejection } from '#testkit/rejection.ts';
import { aBidder, endedItem, openItem, snapshot } from './fixtures.ts';

const env = useTestEnv();

afterEach(() => {
  vi.useRealTimers();
});

describe.each([
  ['placeBid (SELECT … FOR UPDATE)', placeBid],
  ['placeBidOptimistic (conditional UPDATE)', placeBidOptimistic],
])('%s', (_name, place) => {
  it('20 bidders racing, 10 bids each: accepted amounts strictly increase in commit order, one event each, every rejection BidTooLow with its facts', async () => {
    const itemId = await openItem(env.db, 1_000n);
    const bidders = Array.from({ length: 20 }, aBidder);
    const attempts = Array.from({ length: 200 }, (_, i) => ({ userId: bidders[i % 20]!, amountCents: BigInt(1_000 + Math.floor(Math.random() * 100_000)) }));
    // Each bidder waits for one answer before bidding again, as a real client does: 20 bids
    // in flight at all times, twice the pool, all on one row.
    const outcomes: PromiseSettledResult<unknown>[] = [];
    await Promise.all(
      bidders.map(async (_, b) => {
        for (let i = b; i < attempts.length; i += bidders.length) {
          const a = attempts[i]!;
          outcomes[i] = await place(env, { itemId, userId: a.userId, amountCents: a.amountCents.toString() }).then(
            (value) => ({ status: 'fulfilled' as const, value }),
            (reason: unknown) => ({ status: 'rejected' as const, reason }),
          );
        }
      }),
    );

    const { item, bids, events } = await snapshot(env.db, itemId);
    const accepted = bids.map((b) => b.amount_cents);
    for (let i = 1; i < accepted.length; i++) {
      expect(
        accepted[i]! >= accepted[i - 1]! + env.config.bidding.minIncrementCents,
        `bid ${i + 1} (${accepted[i]}) beats bid ${i} (${accepted[i - 1]}) by the increment`,
      ).toBe(true);
    }
    expect(
      bids.map((b) => b.sequence),
      'sequence numbers',
    ).toEqual(bids.map((_, i) => BigInt(i + 1)));
    expect(item.highest_bid_cents, 'the item’s highest bid').toBe(accepted.at(-1));
    expect(item.leader_id, 'the item’s leader').toBe(bids.at(-1)?.user_id);
    expect(
      events.map((e) => bidPlacedFromProto(e.payload)).map((e) => [e.bidId, e.amountCents, e.sequence]),
      'one event per accepted bid',
    ).toEqual(bids.map((b) => [b.id, b.amount_cents, b.sequence]));

    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(fulfilled, 'accepted calls = bids in the database').toBe(bids.length);
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') return;
      const err = o.reason as BidTooLow;
      expect(err, `rejection ${i}`).toBeInstanceOf(BidTooLow);
      expect(attempts[i]!.amountCents < err.minimumNextCents, `${attempts[i]!.amountCents} is below the minimum ${err.minimumNextCents}`).toBe(true);
      expect(err.minimumNextCents, 'minimum = current + increment').toBe(
        (err.currentCents ?? 1_000n - env.config.bidding.minIncrementCents) + env.config.bidding.minIncrementCents,
      );
    });
  });

  it('refuses a bid the app’s clock calls open when the database says the auction ended', async () => {
    const itemId = await endedItem(env.db);
    // The process's clock an hour behind, still moving: a frozen Date (the default) also froze
    // every wait that reads it, and once in CI (T_3, ci3) the bid and the test waited for ever.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(new Date(Date.now() - 3_600_000));
    const err = await place(env, { itemId, userId: aBidder(), amountCents: '5000' }).catch((e: unknown) => e);
    vi.useRealTimers();
    expect(err).toBeInstanceOf(AuctionEnded);
    expect((err as AuctionEnded).endedAt.getTime()).toBeLessThan(Date.now());
    const { bids, events } = await snapshot(env.db, itemId);
    expect({ bids: bids.length, events: events.length }).toEqual({ bids: 0, events: 0 });
  });

  it('a bid below the minimum, and bad input, get a typed error and write nothing', async () => {
    const itemId = await openItem(env.db, 1_000n);
    await place(env, { itemId, userId: aBidder(), amountCents: '1000' });
    const before = await snapshot(env.db, itemId);
    const tooLow = await place(env, { itemId, userId: aBidder(), amountCents: '1099' }).catch((e: unknown) => e);
    expect(tooLow).toBeInstanceOf(BidTooLow);
    expect({ current: (tooLow as BidTooLow).currentCents, minimum: (tooLow as BidTooLow).minimumNextCents }).toEqual({ current: 1_000n, minimum: 1_100n });
    for (const [amountCents, field] of [
      ['0', 'amountCents'],
      ['-5', 'amountCents'],
      [10.5, 'amountCents'],
      ['9223372036854775808', 'amountCents'],
    ] as const) {
      expect(await rejection(place(env, { itemId, userId: aBidder(), amountCents }))).toEqual({ name: 'ValidationError', field });
    }
    expect(await rejection(place(env, { itemId: 'lot-7', userId: aBidder(), amountCents: '5000' }))).toEqual({ name: 'ValidationError', field: 'itemId' });
    expect(await rejection(place(env, { itemId: '00000000-0000-4000-8000-000000000123', userId: aBidder(), amountCents: '5000' }))).toEqual({
      name: 'ItemNotFound',
    });
    expect(await snapshot(env.db, itemId)).toEqual(before);
  });
});
