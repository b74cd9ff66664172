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
  throw new TodoError('m2', 'take the leader lock in outbox/claim-batch.ts');
  // #endregion
}

/**
 * Locks up to `limit` pending rows of one partition in insert order. No "position > last
 * seen" cursor: a row with a smaller position can commit after a larger one, and a cursor
 * would skip it for ever.
 */
export async function claimBatch(tx: DbClient, limit: number, partition: Partition): Promise<OutboxRow[]> {
  // #region m2: claim a batch of a partition's pending rows, in position order, skipping rows locked elsewhere
  throw new TodoError('m2', 'claim a batch in outbox/claim-batch.ts');
  // #endregion
}

/** Marks the published rows, in the claiming transaction, after the broker confirmed them. */
export async function markPublished(tx: DbClient, ids: string[]): Promise<void> {
  // #region m2: mark the confirmed rows published
  throw new TodoError('m2', 'mark rows published in outbox/claim-batch.ts');
  // #endregion
}

/** Sets aside rows that can never be published, with the reason, so they stop blocking the rest. */
export async function setAside(tx: DbClient, rejected: Array<{ id: string; reason: string }>): Promise<void> {
  // #region m2: set aside rows that can never be published, keeping the reason
  throw new TodoError('m2', 'set aside unpublishable rows in outbox/claim-batch.ts');
  // #endregion
}
