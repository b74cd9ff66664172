// Milestone 4 · the auction closer: each auction closed once, and no bid lost between a bid and the close.
import { describe, expect, it } from 'vitest';
import { closeDueAuctions } from '#app/auctions/close-due-auctions.ts';
import { placeBid } from '#app/bidding/place-bid.ts';
import { createDb } from '#runtime/db.ts';
import { auctionClosedFromProto } from '#runtime/events/auction-closed.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder } from './fixtures.ts';

const env = useTestEnv();

async function closedEvents(itemIds: string[]) {
  const { rows } = await env.db.query<{ payload: Buffer }>(
    `SELECT payload FROM outbox WHERE event_type = 'auction.events.v1.AuctionClosed' AND aggregate_id = ANY($1::uuid[])`,
    [itemIds],
  );
  return rows.map((r) => auctionClosedFromProto(r.payload));
}

/** Closes batches until one closes nothing. */
async function closeAll(db = env.db, batchSize = 25): Promise<number> {
  let total = 0;
  for (;;) {
    const closed = await closeDueAuctions({ db }, { batchSize, correlationId: 'test' });
    total += closed.length;
    if (closed.length === 0) return total;
  }
}

describe('closeDueAuctions', () => {
  it('two closers, 200 auctions ending at the same moment: each closed once, one AuctionClosed each, winner and price from the highest bid', async () => {
    const { rows } = await env.db.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, start_at, end_at, highest_bid_cents, leader_id, last_sequence)
       SELECT 'Lot ' || g, 100, now() - interval '1 day', now() - interval '1 second',
              CASE WHEN g % 4 = 0 THEN NULL ELSE 1000 * g END,
              CASE WHEN g % 4 = 0 THEN NULL ELSE gen_random_uuid() END,
              CASE WHEN g % 4 = 0 THEN 0 ELSE 3 END
         FROM generate_series(1, 200) g
       RETURNING id`,
    );
    const ids = rows.map((r) => r.id);
    const other = createDb({ url: env.config.databaseUrl, log: env.log });
    try {
      const counts = await Promise.all([closeAll(env.db), closeAll(other)]);
      expect(counts[0] + counts[1], 'auctions closed by the two closers together').toBe(200);
    } finally {
      await other.end();
    }
    const events = await closedEvents(ids);
    expect(events.length, 'AuctionClosed events').toBe(200);
    expect(new Set(events.map((e) => e.itemId)).size, 'items with an AuctionClosed').toBe(200);
    const { rows: items } = await env.db.query<{
      id: string;
      status: string;
      winner_id: string | null;
      leader_id: string | null;
      final_price_cents: bigint | null;
      highest_bid_cents: bigint | null;
      last_sequence: bigint;
    }>('SELECT id, status, winner_id, leader_id, final_price_cents, highest_bid_cents, last_sequence FROM items WHERE id = ANY($1::uuid[])', [ids]);
    const byId = new Map(items.map((i) => [i.id, i]));
    for (const e of events) {
      const item = byId.get(e.itemId)!;
      expect([item.status, item.winner_id, item.final_price_cents], `item ${e.itemId}`).toEqual(['closed', item.leader_id, item.highest_bid_cents]);
      expect([e.winnerId, e.finalPriceCents, e.bidCount, e.sequence], `its event`).toEqual([
        item.winner_id ?? undefined,
        item.final_price_cents ?? 0n,
        item.highest_bid_cents === null ? 0n : 3n,
        item.last_sequence,
      ]);
    }
  });

  it('leaves auctions that have not ended open, and does nothing the second time', async () => {
    const { rows } = await env.db.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, end_at) VALUES ('Later', 100, now() + interval '1 hour') RETURNING id`,
    );
    await closeAll();
    expect(await closeAll(), 'closed on a second pass').toBe(0);
    const { rows: after } = await env.db.query<{ status: string }>('SELECT status FROM items WHERE id = $1', [rows[0]!.id]);
    expect(after[0]!.status).toBe('open');
    expect(await closedEvents([rows[0]!.id])).toEqual([]);
  });

  it('bids racing the close: every accepted bid is in the final price and bid count, every other one refused with AuctionEnded or BidTooLow', async () => {
    const { rows } = await env.db.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, start_at, end_at)
       SELECT 'Lot ' || g, 100, now() - interval '1 day', now() + interval '400 milliseconds' FROM generate_series(1, 10) g RETURNING id`,
    );
    const ids = rows.map((r) => r.id);
    let amount = 1_000n;
    const refusals = new Map<string, number>();
    const stop = Date.now() + 1_200;
    const bidding = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        while (Date.now() < stop) {
          amount += 100n;
          await placeBid(env, { itemId: ids[worker % ids.length]!, userId: aBidder(), amountCents: amount.toString() }).catch((err: Error) =>
            refusals.set(err.name, (refusals.get(err.name) ?? 0) + 1),
          );
        }
      }),
    );
    const closing = (async () => {
      while (Date.now() < stop + 200) {
        await closeAll();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all([bidding, closing]);
    await closeAll();

    expect(
      [...refusals.keys()].filter((name) => name !== 'AuctionEnded' && name !== 'BidTooLow'),
      'refusals other than AuctionEnded and BidTooLow',
    ).toEqual([]);
    expect(refusals.get('AuctionEnded') ?? 0, 'bids refused because the auction had ended').toBeGreaterThan(0);
    const { rows: check } = await env.db.query<{ id: string; final_price_cents: bigint | null; max_bid: bigint | null; bids: bigint; late: bigint }>(
      `SELECT i.id, i.final_price_cents, max(b.amount_cents) AS max_bid, count(b.id) AS bids, count(b.id) FILTER (WHERE b.placed_at > i.closed_at) AS late
         FROM items i LEFT JOIN bids b ON b.item_id = i.id
        WHERE i.id = ANY($1::uuid[])
        GROUP BY i.id`,
      [ids],
    );
    const events = new Map((await closedEvents(ids)).map((e) => [e.itemId, e]));
    for (const item of check) {
      expect([item.final_price_cents, item.late], `item ${item.id}: final price = highest accepted bid, no bid after the close`).toEqual([item.max_bid, 0n]);
      expect(events.get(item.id)?.bidCount, `item ${item.id}: bids counted in AuctionClosed`).toBe(item.bids);
    }
  });
});
