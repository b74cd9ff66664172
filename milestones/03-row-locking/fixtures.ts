// Named fixtures of the milestone-3 tests.
import { randomUUID } from 'node:crypto';
import { bidderColumn } from '#testkit/bidder-column.ts';
import type { Db } from '#runtime/db.ts';

/** An open item starting at `startPriceCents`, written directly. */
export async function openItem(db: Db, startPriceCents = 1_000n, endsIn = "interval '1 day'"): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO items (title, start_price_cents, start_at, end_at) VALUES ('Lot', $1::bigint, now() - interval '1 day', now() + ${endsIn}) RETURNING id`,
    [startPriceCents.toString()],
  );
  return rows[0]!.id;
}

/** An item whose auction ended a second ago by the database's clock. */
export const endedItem = (db: Db) => openItem(db, 1_000n, "interval '-1 second'");

export const aBidder = () => randomUUID();

export async function snapshot(db: Db, itemId: string) {
  const { rows: items } = await db.query<{ highest_bid_cents: bigint | null; leader_id: string | null; last_sequence: bigint }>(
    'SELECT highest_bid_cents, leader_id, last_sequence FROM items WHERE id = $1',
    [itemId],
  );
  const bidder = await bidderColumn(db);
  const { rows: bids } = await db.query<{ id: string; user_id: string; amount_cents: bigint; sequence: bigint }>(
    `SELECT id, ${bidder}::text AS user_id, amount_cents, sequence FROM bids WHERE item_id = $1 ORDER BY sequence`,
    [itemId],
  );
  const { rows: events } = await db.query<{ payload: Buffer }>('SELECT payload FROM outbox WHERE aggregate_id = $1 ORDER BY position', [itemId]);
  return { item: items[0]!, bids, events };
}
