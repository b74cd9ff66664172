// Sessions waiting for a heavyweight lock (a row, a table), as PostgreSQL itself reports them in
// pg_stat_activity. Tests and scenarios wait on this, not on a number of milliseconds: it tells
// a session blocked behind a lock from one on a slow machine.
import type pg from 'pg';

export interface LockWaiter {
  pid: number;
  /** When its statement began (query_start), as text: the same statement keeps it while it waits again. */
  started: string;
  query: string;
}

/**
 * The sessions of the asking connection's database, other than itself, that wait for a lock
 * now; with `queryLike`, only those whose statement matches one of the ILIKE patterns.
 */
export async function lockWaiters(db: pg.Pool | pg.ClientBase, options: { queryLike?: string[] } = {}): Promise<LockWaiter[]> {
  const { rows } = await db.query<LockWaiter>(
    `SELECT pid, query_start::text AS started, query
       FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
        AND (cardinality($1::text[]) = 0 OR query ILIKE ANY ($1::text[]))`,
    [options.queryLike ?? []],
  );
  return rows;
}
