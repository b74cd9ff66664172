// Milestone 3 · the largest bid (BID_MAX_CENTS): an item can always be outbid up to it, and
// nothing above it is accepted, so no bid can leave an item at a price nobody can beat.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { loadConfig } from '#runtime/config.ts';
import { useTestEnv } from '#testkit/harness.ts';

const env = useTestEnv();
const aBidder = () => crypto.randomUUID();

async function rejection(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    return err as { name: string; field?: string; problem?: string; minimumNextCents?: bigint };
  }
  throw new Error('the bid was accepted; a refusal was expected');
}

describe('the largest bid', () => {
  it('can always be reached by outbidding, and nothing above it is accepted', async () => {
    // A configured bound (BID_MAX_CENTS), far enough below BIGINT's maximum that highest + increment always exists.
    expect(loadConfig({}).bidding.maxBidCents, 'the default, above 2^53').toBe(1_000_000_000_000_000_000n);
    expect(() => loadConfig({ BID_MAX_CENTS: '9223372036854775807' })).toThrow(
      /BID_MAX_CENTS="9223372036854775807" is not valid: expected a whole number of cents from 1 to 9000000000000000000/,
    );
    const max = 1_000_000n;
    const deps = { db: env.db, config: { ...env.config, bidding: { ...env.config.bidding, maxBidCents: max } } };
    const { rows } = await env.db.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, end_at) VALUES ('Lot', 100, now() + interval '1 day') RETURNING id`,
    );
    const itemId = rows[0]!.id;
    const increment = env.config.bidding.minIncrementCents;

    const above = await rejection(placeBid(deps, { itemId, userId: aBidder(), amountCents: '9223372036854775807' }));
    expect({ name: above.name, field: above.field }, 'a bid of BIGINT’s maximum').toEqual({ name: 'ValidationError', field: 'amountCents' });
    expect(above.problem, 'the refusal names the largest bid').toContain(String(max));

    await placeBid(deps, { itemId, userId: aBidder(), amountCents: (max - increment).toString() });
    const same = await rejection(placeBid(deps, { itemId, userId: aBidder(), amountCents: (max - increment).toString() }));
    expect({ name: same.name, minimum: same.minimumNextCents }, 'the same amount again').toEqual({ name: 'BidTooLow', minimum: max });
    const top = await placeBid(deps, { itemId, userId: aBidder(), amountCents: max.toString() });
    expect(top.amountCents, 'outbid up to the largest bid').toBe(max);

    const { rows: bids } = await env.db.query<{ amount_cents: bigint }>('SELECT amount_cents FROM bids WHERE item_id = $1 ORDER BY sequence', [itemId]);
    expect(bids.map((b) => b.amount_cents)).toEqual([max - increment, max]);
  });
});
