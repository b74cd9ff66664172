/** A message as a consumer received it. */
export interface Delivery {
  /** The AMQP message id: the outbox row's id, the event's id. */
  messageId: string | undefined;
  /** The AMQP type: which event the payload is (auction.events.v1.BidPlaced, …). */
  type: string | undefined;
  content: Buffer;
  routingKey: string;
  /** 1 on the first delivery; the failures of this message itself, counted by the consumer (header x-attempt), see handleDelivery. */
  attempt: number;
}

/** What the consumer does with a delivery once it has been handled. */
export type Outcome =
  | { kind: 'applied' }
  | { kind: 'duplicate' }
  /** Never going to work (cannot be decoded, fails validation, tried too often): to the dead-letter queue, with why. */
  | { kind: 'dead-letter'; reason: string }
  /** Failed on its own, and might work later (a lock timeout, a bug fixed by a redeploy): again after `delayMs`, as attempt + 1. */
  | { kind: 'retry'; reason: string; delayMs: number }
  /** Not the message's fault: what it is applied to is down. Held, unacked and uncounted, until that answers again. */
  | { kind: 'wait'; reason: string };

// The headers are shared with the workbook's dead-letter tool (npm run dlq).
export { ATTEMPT_HEADER, DEAD_LETTER_REASON_HEADER, DELIVERY_COUNT_HEADER, ORIGINAL_ROUTING_KEY_HEADER } from '#runtime/queues.ts';
