// What the retention job deletes, one batch per statement: each batch holds its row locks and
// its share of the WAL only briefly, and bids and consumers never wait behind one huge DELETE.
import type { Db } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';

/** The tables the retention job keeps short, as its metrics label them. */
export const RETAINED_TABLES = ['outbox', 'processed_messages'] as const;
export type RetainedTable = (typeof RETAINED_TABLES)[number];

export interface Expiry {
  /** Rows older than this many milliseconds have expired. */
  olderThanMs: number;
  /** Rows deleted at most by one statement. */
  limit: number;
}

/**
 * Deletes up to `limit` outbox rows published before the window, oldest first, and returns how
 * many. Never an unpublished row (its event is still owed) nor a set-aside one (it waits for a
 * person): only `published_at` makes a row expire.
 */
export async function deletePublishedOutbox(db: Db, expiry: Expiry): Promise<number> {
  // #region m4: delete a batch of outbox rows published before the window
  const { rowCount } = await db.query(
    `DELETE FROM outbox
      WHERE id IN (SELECT id FROM outbox
                    WHERE published_at IS NOT NULL
                      AND published_at < now() - $1::bigint * interval '1 millisecond'
                    ORDER BY published_at
                    LIMIT $2::int
                      FOR UPDATE SKIP LOCKED)`,
    [expiry.olderThanMs, expiry.limit],
  );
  return rowCount ?? 0;
  // #stub
  // throw new TodoError('m4', 'delete published outbox rows past the window in retention/delete-expired.ts');
  // #endregion
}

/**
 * Deletes up to `limit` processed message ids recorded before the window, oldest first, and
 * returns how many. A duplicate of a deleted id is applied again: the window must outlast the
 * longest a duplicate can take to arrive.
 */
export async function deleteProcessedMessages(db: Db, expiry: Expiry): Promise<number> {
  // #region m4: delete a batch of processed message ids recorded before the window
  const { rowCount } = await db.query(
    `DELETE FROM processed_messages
      WHERE (consumer, message_id) IN (SELECT consumer, message_id FROM processed_messages
                                        WHERE processed_at < now() - $1::bigint * interval '1 millisecond'
                                        ORDER BY processed_at
                                        LIMIT $2::int
                                          FOR UPDATE SKIP LOCKED)`,
    [expiry.olderThanMs, expiry.limit],
  );
  return rowCount ?? 0;
  // #stub
  // throw new TodoError('m4', 'delete processed message ids past the window in retention/delete-expired.ts');
  // #endregion
}

/** Rows of `table` past their window still there: the job's backlog (0 once a round finishes). */
export async function countExpired(db: Db, table: RetainedTable, olderThanMs: number): Promise<number> {
  const sql =
    table === 'outbox'
      ? `SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - $1::bigint * interval '1 millisecond'`
      : `SELECT count(*) AS n FROM processed_messages WHERE processed_at < now() - $1::bigint * interval '1 millisecond'`;
  const { rows } = await db.query<{ n: bigint }>(sql, [olderThanMs]);
  return Number(rows[0]?.n ?? 0);
}
