import type { DbClient } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { OutboxEvent } from './outbox-event.ts';

/**
 * Writes the event into the outbox inside the caller's transaction: it commits, or rolls
 * back, with the change it describes. It does not wake the relay: the caller does, after its
 * COMMIT (wakeRelay, wake-relay.ts says why not here).
 */
export async function enqueueEvent(tx: DbClient, event: OutboxEvent): Promise<void> {
  // #region m2: insert the outbox row, in the caller's transaction
  await tx.query(
    `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, routing_key, payload, headers)
     VALUES ($1::uuid, $2::text, $3::uuid, $4::text, $5::text, $6::bytea, $7::jsonb)`,
    [event.id, event.aggregateType, event.aggregateId, event.eventType, event.routingKey, Buffer.from(event.payload), JSON.stringify(event.headers)],
  );
  // #stub
  // throw new TodoError('m2', 'write the outbox row in outbox/enqueue-event.ts');
  // #endregion
}
