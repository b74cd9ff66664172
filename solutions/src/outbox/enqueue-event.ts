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
  // One statement: a caller holding a row lock (milestone 3) makes every other writer of
  // that row wait for each round trip it makes.
  await tx.query(
    `WITH queued AS (
       INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, routing_key, payload, headers)
       VALUES ($1::uuid, $2::text, $3::uuid, $4::text, $5::text, $6::bytea, $7::jsonb)
     )
     SELECT pg_notify($8::text, '')`,
    [
      event.id,
      event.aggregateType,
      event.aggregateId,
      event.eventType,
      event.routingKey,
      Buffer.from(event.payload),
      JSON.stringify(event.headers),
      OUTBOX_CHANNEL,
    ],
  );
  // #stub
  // throw new TodoError('m2', 'write the outbox row in outbox/enqueue-event.ts');
  // #endregion
}
