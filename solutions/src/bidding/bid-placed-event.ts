import { randomUUID } from 'node:crypto';
import { BID_PLACED, BID_PLACED_ROUTING_KEY, bidPlacedToProto } from '#runtime/events/bid-placed.ts';
import type { OutboxEvent } from '../outbox/outbox-event.ts';
import type { Bid } from './bid.ts';

/** The BidPlaced event of a bid, ready for the outbox (or, in the naive version, for RabbitMQ). */
export function bidPlacedEvent(bid: Bid, correlationId: string): OutboxEvent {
  const id = randomUUID();
  return {
    id,
    aggregateType: 'item',
    aggregateId: bid.itemId,
    eventType: BID_PLACED,
    routingKey: BID_PLACED_ROUTING_KEY,
    payload: bidPlacedToProto({
      eventId: id,
      itemId: bid.itemId,
      bidId: bid.id,
      userId: bid.userId,
      bidderId: bid.userId,
      amountCents: bid.amountCents,
      sequence: bid.sequence,
      placedAt: bid.placedAt,
      correlationId,
    }),
    headers: { 'x-correlation-id': correlationId },
  };
}
