// Milestone 2 · placeBid: the bid and its BidPlaced event commit together, or neither does.
import { describe, expect, it } from 'vitest';
import { ItemNotFound } from '#app/errors.ts';
import type { Bid } from '#app/bidding/bid.ts';
import { placeBid } from '#app/bidding/place-bid.ts';
import { bidPlacedFromProto, BID_PLACED } from '#runtime/events/bid-placed.ts';
import { withCorrelationId } from '#runtime/logger.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { rejection } from '#testkit/rejection.ts';
import { aBidder, count, openItem } from './fixtures.ts';

const env = useTestEnv();

describe('placeBid', () => {
  it('writes the bid and one BidPlaced outbox row describing it, numbered 1, 2, 3 per item', async () => {
    const itemId = await openItem(env.db);
    const userId = aBidder();
    const bids: Bid[] = [];
    for (const amountCents of ['100', '9007199254740993', '9007199254741093']) {
      bids.push(await withCorrelationId('req-place-1', () => placeBid(env, { itemId, userId, amountCents })));
    }
    expect(bids.map((b) => b.sequence)).toEqual([1n, 2n, 3n]);
    const { rows } = await env.db.query<{
      id: string;
      aggregate_id: string;
      event_type: string;
      routing_key: string;
      payload: Buffer;
      headers: Record<string, string>;
      published_at: Date | null;
    }>('SELECT id, aggregate_id, event_type, routing_key, payload, headers, published_at FROM outbox WHERE aggregate_id = $1 ORDER BY position', [itemId]);
    expect(rows).toHaveLength(3);
    rows.forEach((row, i) => {
      const bid = bids[i]!;
      expect({ type: row.event_type, key: row.routing_key, published: row.published_at, headers: row.headers }).toEqual({
        type: BID_PLACED,
        key: 'bid.placed',
        published: null,
        headers: { 'x-correlation-id': 'req-place-1' },
      });
      expect(bidPlacedFromProto(row.payload)).toEqual({
        eventId: row.id,
        itemId,
        bidId: bid.id,
        userId,
        bidderId: userId,
        amountCents: bid.amountCents,
        sequence: bid.sequence,
        placedAt: bid.placedAt,
        correlationId: 'req-place-1',
      });
    });
  });

  it('writes neither the bid nor the event when the transaction fails after the bid is in', async () => {
    const itemId = await openItem(env.db);
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '150' });
    const before = { bids: await count(env.db, 'SELECT count(*) AS n FROM bids'), outbox: await count(env.db, 'SELECT count(*) AS n FROM outbox') };
    // A scratch trigger makes the outbox insert fail, as a full disk or a bug would.
    await env.db.query(`CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox refused by the test'; END $$`);
    await env.db.query('CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()');
    try {
      await expect(placeBid(env, { itemId, userId: aBidder(), amountCents: '1000' })).rejects.toThrow(/outbox refused by the test/);
    } finally {
      await env.db.query('DROP TRIGGER refuse_outbox ON outbox; DROP FUNCTION refuse_outbox()');
    }
    expect({ bids: await count(env.db, 'SELECT count(*) AS n FROM bids'), outbox: await count(env.db, 'SELECT count(*) AS n FROM outbox') }).toEqual(before);
    expect(await count(env.db, 'SELECT last_sequence AS n FROM items WHERE id = $1', [itemId]), 'the item sequence').toBe(1);
  });

  it.each([
    ['a missing amount', { amountCents: undefined }, 'amountCents'],
    ['a zero amount', { amountCents: '0' }, 'amountCents'],
    ['a fractional amount', { amountCents: 10.5 }, 'amountCents'],
    ['an amount above BIGINT', { amountCents: '9223372036854775808' }, 'amountCents'],
    ['a malformed user id', { userId: 'alice' }, 'userId'],
    ['a malformed item id', { itemId: '42' }, 'itemId'],
  ])('refuses %s by field and writes nothing', async (_case, change, field) => {
    const itemId = await openItem(env.db);
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
    const before = await count(env.db, 'SELECT count(*) AS n FROM outbox');
    expect(await rejection(placeBid(env, { itemId, userId: aBidder(), amountCents: '500', ...change }))).toEqual({ name: 'ValidationError', field });
    expect(await count(env.db, 'SELECT count(*) AS n FROM outbox'), 'outbox rows').toBe(before);
    expect(await count(env.db, 'SELECT count(*) AS n FROM bids WHERE item_id = $1', [itemId]), 'bids on the item').toBe(1);
  });

  it('refuses a bid on an item that does not exist, writing nothing', async () => {
    const itemId = await openItem(env.db);
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
    const before = await count(env.db, 'SELECT count(*) AS n FROM outbox');
    const missing = '00000000-0000-4000-8000-00000000abcd';
    const err = await placeBid(env, { itemId: missing, userId: aBidder(), amountCents: '100' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ItemNotFound);
    expect(await count(env.db, 'SELECT count(*) AS n FROM outbox'), 'outbox rows').toBe(before);
  });
});
