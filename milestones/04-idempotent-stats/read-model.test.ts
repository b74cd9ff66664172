// Milestone 4 · the Redis read model: only newer events move it; PostgreSQL when Redis cannot answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToReadModel } from '#app/read-model/apply-to-read-model.ts';
import { readItemLive } from '#app/read-model/read-item-live.ts';
import { rebuildReadModel } from '#app/read-model/rebuild-read-model.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import { BID_PLACED } from '#runtime/events/bid-placed.ts';
import { createRedis } from '#runtime/redis.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, anItem, auctionClosed, bidPlaced, testRedis } from './fixtures.ts';

const env = useTestEnv();
let redis: Awaited<ReturnType<typeof testRedis>>;
const deps = () => ({ ...env, redis });

beforeAll(async () => {
  redis = await testRedis(env);
});
afterAll(async () => {
  await redis?.cleanUp();
});

const bid = (itemId: string, sequence: bigint, userId = aBidder()) =>
  ({ type: BID_PLACED, event: bidPlaced({ itemId, sequence, userId, amountCents: 1_000n * sequence }) }) as const;

describe('the item read model', () => {
  it('ends at the newest event when events arrive out of order and twice (5 before 4)', async () => {
    const itemId = await anItem(env.db);
    const events = [1n, 2n, 3n, 5n, 4n, 5n, 2n].map((s) => bid(itemId, s, `00000000-0000-4000-8000-00000000000${s}`));
    const answers = [];
    for (const e of events) answers.push(await applyToReadModel(deps(), e.event.eventId, e));
    const live = await readItemLive(deps(), itemId);
    expect(live).toEqual({
      itemId,
      status: 'open',
      priceCents: 5_000n,
      leaderId: '00000000-0000-4000-8000-000000000005',
      bidCount: 5n,
      version: 5n,
      source: 'redis',
    });
    expect(answers, 'applied, or skipped as not newer').toEqual(['applied', 'applied', 'applied', 'applied', 'duplicate', 'duplicate', 'duplicate']);
  });

  it('moves through versions 9, 10 and 11 in order: versions compare as numbers, not as text', async () => {
    const itemId = await anItem(env.db);
    const answers = [];
    for (const s of [9n, 10n, 11n, 10n]) answers.push(await applyToReadModel(deps(), `v${s}-${answers.length}`, bid(itemId, s)));
    expect(
      answers,
      'versions 9, 10, 11, then 10 again: applied, applied, applied, duplicate. A 10 refused after 9 means the Lua script compares the stored version as a string ("10" < "9"): compare tonumber(stored) with tonumber(ARGV[…])',
    ).toEqual(['applied', 'applied', 'applied', 'duplicate']);
    expect(await readItemLive(deps(), itemId), 'the read model after version 11').toMatchObject({ priceCents: 11_000n, version: 11n, source: 'redis' });
  });

  it('a late BidPlaced does not reopen a closed auction', async () => {
    const itemId = await anItem(env.db);
    const winner = aBidder();
    const closed = { type: AUCTION_CLOSED, event: auctionClosed({ itemId, winnerId: winner, finalPriceCents: 2_000n, bidCount: 2n, sequence: 3n }) } as const;
    await applyToReadModel(deps(), closed.event.eventId, closed);
    await applyToReadModel(deps(), 'late', bid(itemId, 2n));
    expect(await readItemLive(deps(), itemId)).toMatchObject({ status: 'closed', priceCents: 2_000n, leaderId: winner, bidCount: 2n, version: 3n });
  });

  it('reads PostgreSQL when Redis is down, and when Redis has not seen the item', async () => {
    const itemId = await anItem(env.db);
    await env.db.query(`UPDATE items SET highest_bid_cents = 4200, leader_id = $2, last_sequence = 3 WHERE id = $1`, [
      itemId,
      '00000000-0000-4000-8000-000000000042',
    ]);
    const expected = {
      itemId,
      status: 'open',
      priceCents: 4_200n,
      leaderId: '00000000-0000-4000-8000-000000000042',
      bidCount: 3n,
      version: 3n,
      source: 'postgres',
    };
    expect(await readItemLive(deps(), itemId), 'not in Redis yet').toEqual(expected);
    // A client whose Redis is gone: nothing listens on port 1.
    const down = createRedis({ url: 'redis://127.0.0.1:1', log: env.log });
    down.on('error', () => undefined);
    await applyToReadModel(deps(), 'x', bid(itemId, 3n, '00000000-0000-4000-8000-000000000042'));
    expect(await readItemLive({ ...deps(), redis: down }, itemId), 'Redis down').toEqual(expected);
    await expect(readItemLive({ ...deps(), redis: down }, '00000000-0000-4000-8000-000000000999')).rejects.toMatchObject({ name: 'ItemNotFound' });
    await expect(readItemLive(deps(), 'lot-7')).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('rebuild repopulates a wiped read model from PostgreSQL, and leaves newer state alone', async () => {
    const open = await anItem(env.db);
    const closed = await anItem(env.db);
    const ahead = await anItem(env.db);
    await env.db.query(`UPDATE items SET highest_bid_cents = 1500, leader_id = $2, last_sequence = 2 WHERE id = $1`, [
      open,
      '00000000-0000-4000-8000-000000000015',
    ]);
    await env.db.query(
      `UPDATE items SET highest_bid_cents = 900, leader_id = $2, last_sequence = 2, status = 'closed', winner_id = $2, final_price_cents = 900, closed_at = now() WHERE id = $1`,
      [closed, '00000000-0000-4000-8000-000000000009'],
    );
    // The consumer has already applied an event PostgreSQL's row does not show yet (a rebuild racing the consumer).
    await applyToReadModel(deps(), 'y', bid(ahead, 7n, '00000000-0000-4000-8000-000000000007'));

    await rebuildReadModel(deps());
    expect(await readItemLive(deps(), open)).toMatchObject({ status: 'open', priceCents: 1_500n, bidCount: 2n, version: 2n, source: 'redis' });
    expect(await readItemLive(deps(), closed)).toMatchObject({
      status: 'closed',
      priceCents: 900n,
      leaderId: '00000000-0000-4000-8000-000000000009',
      bidCount: 1n,
      version: 2n,
      source: 'redis',
    });
    expect(await readItemLive(deps(), ahead), 'not moved back by the rebuild').toMatchObject({ priceCents: 7_000n, version: 7n, source: 'redis' });
  });
});
