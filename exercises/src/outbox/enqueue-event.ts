import type { DbClient } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { OUTBOX_CHANNEL, type OutboxEvent } from './outbox-event.ts';

/**
 * Writes the event into the outbox inside the caller's transaction: it commits, or rolls
 * back, with the change it describes. The NOTIFY is delivered only at commit, and only wakes
 * the relay; the table stays the truth.
 */
export async function enqueueEvent(tx: DbClient, event: OutboxEvent): Promise<void> {
  // #region m2: insert the outbox row and notify the relay, in the caller's transaction
  throw new TodoError('m2', 'write the outbox row in outbox/enqueue-event.ts');
  // #endregion
}
