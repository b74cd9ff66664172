// Milestone 5 renames the bidder of a bid: bids.user_id (uuid) until its contract migration,
// bids.bidder_id (text) after. The checks every milestone's tests and scenarios run read bids
// through this, so they hold before and after it.
import type pg from 'pg';

type Queryable = Pick<pg.ClientBase, 'query'> | { query: pg.Pool['query'] };

/** user_id while it exists, else bidder_id. */
export async function bidderColumn(db: Queryable): Promise<'user_id' | 'bidder_id'> {
  const { rows } = await (db as pg.ClientBase).query<{ name: 'user_id' | 'bidder_id' }>(
    `SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'bids' AND column_name IN ('user_id', 'bidder_id')
      ORDER BY column_name DESC LIMIT 1`,
  );
  return rows[0]?.name ?? 'user_id';
}

/** Whether bids.bidder_id exists: milestone 5's expand migration has run. */
export async function hasBidderId(db: Queryable): Promise<boolean> {
  const { rows } = await (db as pg.ClientBase).query(
    `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'bids' AND column_name = 'bidder_id'`,
  );
  return rows.length > 0;
}
