// Milestone 3 · a client retrying a request whose answer it lost gets the same bid, not a second one.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { placeBidOptimistic } from '#app/bidding/place-bid-optimistic.ts';
import { useTestEnv } from '#shared/test/harness.ts';
import { aBidder, openItem, snapshot } from './fixtures.ts';

const env = useTestEnv();

describe.each([
  ['placeBid', placeBid],
  ['placeBidOptimistic', placeBidOptimistic],
])('%s with a request id', (_name, place) => {
  it('the same request sent twice at once and once more later: one bid, one event, three identical answers', async () => {
    const itemId = await openItem(env.db);
    const userId = aBidder();
    const request = { itemId, userId, amountCents: '2500', requestId: 'checkout-42' };
    const [first, second] = await Promise.all([place(env, request), place(env, request)]);
    const later = await place(env, request);
    const { bids, events } = await snapshot(env.db, itemId);
    expect({ bids: bids.length, events: events.length }).toEqual({ bids: 1, events: 1 });
    expect(second).toEqual(first);
    expect(later).toEqual(first);
    expect(first.id).toBe(bids[0]!.id);
  });

  it('another bidder using the same request id is a different request', async () => {
    const itemId = await openItem(env.db);
    await place(env, { itemId, userId: aBidder(), amountCents: '2500', requestId: 'r-1' });
    await place(env, { itemId, userId: aBidder(), amountCents: '2600', requestId: 'r-1' });
    expect((await snapshot(env.db, itemId)).bids).toHaveLength(2);
  });
});
