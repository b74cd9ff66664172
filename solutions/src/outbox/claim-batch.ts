import type { DbClient } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { OutboxRow } from './outbox-event.ts';

/** Items are spread over partitions; each partition has one publisher at a time. */
export interface Partition {
  index: number;
  count: number;
}

/**
 * One relay at a time publishes a partition, so events of one item (always in the same
 * partition) leave in commit order. The lock is transaction-scoped: it dies with a crashed
 * relay's transaction, together with its row locks.
 */
export async function becomeLeader(tx: DbClient, partition: Partition): Promise<boolean> {
  // #region m2: take the partition's leader lock for this transaction only, without waiting
  const { rows } = await tx.query<{ leader: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('auction-outbox-relay'), $1::int) AS leader`, [
    partition.index,
  ]);
  return rows[0]?.leader === true;
  // #stub
  // throw new TodoError('m2', 'take the leader lock in outbox/claim-batch.ts');
  // #endregion
}

/**
 * Locks up to `limit` pending rows of one partition in insert order. No "position > last
 * seen" cursor: a row with a smaller position can commit after a larger one, and a cursor
 * would skip it for ever.
 */
export async function claimBatch(tx: DbClient, limit: number, partition: Partition): Promise<OutboxRow[]> {
  // #region m2: claim a batch of a partition's pending rows, in position order, skipping rows locked elsewhere
  const { rows } = await tx.query<OutboxRow>(
    `SELECT id, position, aggregate_id, event_type, routing_key, payload, headers, created_at
       FROM outbox
      WHERE published_at IS NULL
        AND failed_at IS NULL
        -- An item's partition: the same for all its events while the count is unchanged.
        AND (hashtext(aggregate_id::text) & 2147483647) % $3::int = $2::int
      ORDER BY position
      LIMIT $1::int
        FOR UPDATE SKIP LOCKED`,
    [limit, partition.index, partition.count],
  );
  return rows;
  // #stub
  // throw new TodoError('m2', 'claim a batch in outbox/claim-batch.ts');
  // #endregion
}

/** Marks the published rows, in the claiming transaction, after the broker confirmed them. */
export async function markPublished(tx: DbClient, ids: string[]): Promise<void> {
  // #region m2: mark the confirmed rows published
  await tx.query(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])`, [ids]);
  // #stub
  // throw new TodoError('m2', 'mark rows published in outbox/claim-batch.ts');
  // #endregion
}

/** Sets aside rows that can never be published, with the reason, so they stop blocking the rest. */
export async function setAside(tx: DbClient, rejected: Array<{ id: string; reason: string }>): Promise<void> {
  // #region m2: set aside rows that can never be published, keeping the reason
  await tx.query(
    `UPDATE outbox AS o
        SET failed_at = now(), last_error = r.reason
       FROM unnest($1::uuid[], $2::text[]) AS r(id, reason)
      WHERE o.id = r.id`,
    [rejected.map((r) => r.id), rejected.map((r) => r.reason)],
  );
  // #stub
  // throw new TodoError('m2', 'set aside unpublishable rows in outbox/claim-batch.ts');
  // #endregion
}
