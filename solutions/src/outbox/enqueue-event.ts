import type { DbClient, DbQuery } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { OutboxEvent } from './outbox-event.ts';

/**
 * The INSERT of the event's outbox row, as a query for the caller to send on its transaction:
 * enqueueEvent awaits it, or a caller that reads nothing back sends it with its COMMIT
 * (sendWithCommit, runtime/db.ts), a round trip less.
 */
export function outboxInsert(event: OutboxEvent): DbQuery {
  // #region m2: the outbox row's INSERT, for the caller's transaction
  return {
    text: `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, routing_key, payload, headers)
     VALUES ($1::uuid, $2::text, $3::uuid, $4::text, $5::text, $6::bytea, $7::jsonb)`,
    values: [event.id, event.aggregateType, event.aggregateId, event.eventType, event.routingKey, Buffer.from(event.payload), JSON.stringify(event.headers)],
  };
  // #stub
  // throw new TodoError('m2', "write the outbox row's INSERT in outbox/enqueue-event.ts");
  // #endregion
}

/**
 * Writes the event into the outbox inside the caller's transaction: it commits, or rolls
 * back, with the change it describes. It does not wake the relay: the caller does, after its
 * COMMIT (wakeRelay, wake-relay.ts says why not here).
 */
export async function enqueueEvent(tx: DbClient, event: OutboxEvent): Promise<void> {
  await tx.query(outboxInsert(event));
}
