// Milestone 3 · the lesson's question: two bids in the same millisecond — can the price go down?
import { afterEach, describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { placeBidUnsafe } from '#app/bidding/place-bid-unsafe.ts';
import { clearFailpoints, failpointHits, setFailpoint } from '#runtime/failpoints.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, openItem, snapshot } from './fixtures.ts';

const env = useTestEnv();

afterEach(() => clearFailpoints());

describe('two bids racing', () => {
  it('read-then-write accepts both against the same old price and the price goes down; placeBid keeps it rising', async () => {
    // Unsafe: the 300 bid reads, pauses (failpoint) while the 500 bid commits, then writes over it.
    // 'pause' holds it until the 500 bid has committed however slow the machine is; a fixed
    // delay(500) let the 300 bid go first once in CI (both accepted, in the other order).
    const unsafeItem = await openItem(env.db, 100n);
    setFailpoint('bid.after-read', 'pause@1');
    const low = placeBidUnsafe(env, { itemId: unsafeItem, userId: aBidder(), amountCents: '300' });
    await Promise.race([
      eventually(
        async () => failpointHits('bid.after-read'),
        (n) => n >= 1,
        'the 300 bid paused after its read',
      ),
      low.then(() => Promise.reject(new Error('the 300 bid finished without pausing at the failpoint'))),
    ]);
    await placeBidUnsafe(env, { itemId: unsafeItem, userId: aBidder(), amountCents: '500' });
    clearFailpoints(); // the 300 bid goes on from its read and writes
    await low;
    const unsafe = await snapshot(env.db, unsafeItem);
    expect(
      unsafe.bids.map((b) => b.amount_cents),
      'unsafe: both accepted',
    ).toEqual([500n, 300n]);
    expect(unsafe.item.highest_bid_cents, 'unsafe: the price went down to').toBe(300n);

    // placeBid under the same two calls: the second waits for the first's row lock and checks the new price.
    const safeItem = await openItem(env.db, 100n);
    const results = await Promise.allSettled([
      placeBid(env, { itemId: safeItem, userId: aBidder(), amountCents: '300' }),
      placeBid(env, { itemId: safeItem, userId: aBidder(), amountCents: '500' }),
    ]);
    const safe = await snapshot(env.db, safeItem);
    const accepted = safe.bids.map((b) => b.amount_cents);
    expect(accepted.length, 'placeBid: accepted bids').toBeGreaterThanOrEqual(1);
    expect(
      [...accepted].sort((a, b) => (a < b ? -1 : 1)),
      'placeBid: accepted amounts rise in commit order',
    ).toEqual(accepted);
    expect(safe.item.highest_bid_cents, 'placeBid: the price is the highest accepted bid').toBe(500n);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.name)).toEqual(
      accepted.length === 2 ? [] : ['BidTooLow'],
    );
  });
});
