/** An event on its way out: a row of the outbox table, and then an AMQP message. */
export interface OutboxEvent {
  /** The row id, the AMQP messageId and the event's own id: one value for deduplication. */
  id: string;
  aggregateType: string;
  /** Events of one aggregate (an item) are published in the order they were committed. */
  aggregateId: string;
  eventType: string;
  routingKey: string;
  payload: Uint8Array;
  headers: Record<string, string>;
}

/** A claimed row, as the relay reads it. */
export interface OutboxRow {
  id: string;
  position: bigint;
  aggregate_id: string;
  event_type: string;
  routing_key: string;
  payload: Buffer;
  headers: Record<string, string>;
  created_at: Date;
}

export const OUTBOX_CHANNEL = 'auction_outbox';
