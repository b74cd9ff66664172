import type { Db } from '#runtime/db.ts';
import { ItemNotFound } from '../errors.ts';
import { parseItemId } from '../items/parse-new-item.ts';
import type { ItemLive } from './item-live.ts';

const columns = `id, status, highest_bid_cents, leader_id, last_sequence`;
type Row = { id: string; status: 'open' | 'closed'; highest_bid_cents: bigint | null; leader_id: string | null; last_sequence: bigint };

function fromRow(r: Row): ItemLive {
  return {
    itemId: r.id,
    status: r.status,
    priceCents: r.highest_bid_cents ?? undefined,
    leaderId: r.leader_id ?? undefined,
    // The close moved the sequence once more than the bids did.
    bidCount: r.status === 'closed' ? r.last_sequence - 1n : r.last_sequence,
    version: r.last_sequence,
    source: 'postgres',
  };
}

/** The item's live state computed from PostgreSQL, the source of truth; undefined if there is no such item. */
export async function itemLiveFromDb(db: Db, itemId: string): Promise<ItemLive | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${columns} FROM items WHERE id = $1::uuid`, [itemId]);
  return rows[0] && fromRow(rows[0]);
}

/**
 * The item's committed state, for a reader that must not start behind the database (a WatchItem
 * stream's first state and every resync): the read model lags by its consumer's backlog. Throws
 * ItemNotFound, or the ValidationError of a malformed id.
 */
export async function readCommittedItemLive(db: Db, rawId: string): Promise<ItemLive> {
  const id = parseItemId(rawId);
  if ('error' in id) throw id.error;
  const item = await itemLiveFromDb(db, id.value);
  if (!item) throw new ItemNotFound(id.value);
  return item;
}

/** Every item's live state, a page at a time in id order (keyset, never OFFSET). */
export async function* allItemsLive(db: Db, pageSize = 1_000): AsyncGenerator<ItemLive[]> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.query<Row>(`SELECT ${columns} FROM items WHERE id > $1::uuid ORDER BY id LIMIT $2`, [after, pageSize]);
    if (rows.length === 0) return;
    yield rows.map(fromRow);
    after = rows.at(-1)!.id;
  }
}
