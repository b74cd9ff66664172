import { randomUUID } from 'node:crypto';
import { AUCTION_CLOSED, AUCTION_CLOSED_ROUTING_KEY, auctionClosedToProto } from '#shared/events/auction-closed.ts';
import type { OutboxEvent } from '../outbox/outbox-event.ts';

/** An auction as the closer settled it. */
export interface ClosedAuction {
  itemId: string;
  winnerId: string | undefined;
  /** Minor units; 0n when nobody bid. */
  finalPriceCents: bigint;
  bidCount: bigint;
  /** The item's sequence number after the close (its last bid's + 1). */
  sequence: bigint;
  closedAt: Date;
}

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
