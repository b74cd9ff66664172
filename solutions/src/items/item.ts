// An item up for auction. DbItem is the row as node-postgres returns it (int8 as bigint,
// see runtime/db.ts); Item is what the rest of the app uses. They meet only in itemFromRow.

export interface Item {
  id: string;
  title: string;
  description: string;
  /** Minor units (cents). bigint, never a float. */
  startPriceCents: bigint;
  startAt: Date;
  endAt: Date;
  createdAt: Date;
}

export interface DbItem {
  id: string;
  title: string;
  description: string;
  start_price_cents: bigint;
  start_at: Date;
  end_at: Date;
  created_at: Date;
}

export interface NewItem {
  title: string;
  description: string;
  startPriceCents: bigint;
  startAt: Date;
  endAt: Date;
}

export function itemFromRow(row: DbItem): Item {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    startPriceCents: row.start_price_cents,
    startAt: row.start_at,
    endAt: row.end_at,
    createdAt: row.created_at,
  };
}

/** JSON for the HTTP API: money as a decimal string of cents, since JSON numbers lose it past 2^53. */
export function itemToJson(item: Item) {
  return {
    id: item.id,
    title: item.title,
    description: item.description,
    startPriceCents: item.startPriceCents.toString(),
    startAt: item.startAt.toISOString(),
    endAt: item.endAt.toISOString(),
    createdAt: item.createdAt.toISOString(),
  };
}
