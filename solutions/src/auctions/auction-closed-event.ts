import { randomUUID } from 'node:crypto';
import { AUCTION_CLOSED, AUCTION_CLOSED_ROUTING_KEY, auctionClosedToProto, type AuctionClosed } from '#runtime/events/auction-closed.ts';
import type { OutboxEvent } from '../outbox/outbox-event.ts';

/** An auction as the closer settled it: its AuctionClosed event without the event's own ids. */
export type ClosedAuction = Omit<AuctionClosed, 'eventId' | 'correlationId'>;

/** The AuctionClosed event of a settled auction, ready for the outbox. */
export function auctionClosedEvent(closed: ClosedAuction, correlationId: string): OutboxEvent {
  const id = randomUUID();
  return {
    id,
    aggregateType: 'item',
    aggregateId: closed.itemId,
    eventType: AUCTION_CLOSED,
    routingKey: AUCTION_CLOSED_ROUTING_KEY,
    payload: auctionClosedToProto({ eventId: id, correlationId, ...closed }),
    headers: { 'x-correlation-id': correlationId },
  };
}
