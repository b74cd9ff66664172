import { create, toBinary } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { BidPlacedSchema } from '../gen/auction/events/v1/events_pb.ts';
import { ContractError, decodePayload } from './contracts.ts';

export const BID_PLACED = 'auction.events.v1.BidPlaced';
export const BID_PLACED_ROUTING_KEY = 'bid.placed';

export interface BidPlaced {
  eventId: string;
  itemId: string;
  bidId: string;
  userId: string;
  /**
   * The bidder's id as text (milestone 5: ids from the external identity provider). Producers
   * set it; an event from an older producer has none, and decoding fills in userId.
   */
  bidderId?: string;
  /** Minor units. */
  amountCents: bigint;
  sequence: bigint;
  placedAt: Date;
  correlationId: string;
}

export function bidPlacedToProto(event: BidPlaced): Uint8Array {
  return toBinary(
    BidPlacedSchema,
    create(BidPlacedSchema, {
      eventId: event.eventId,
      itemId: event.itemId,
      bidId: event.bidId,
      userId: event.userId,
      bidderId: event.bidderId ?? '',
      amountCents: event.amountCents,
      sequence: event.sequence,
      placedAt: timestampFromDate(event.placedAt),
      correlationId: event.correlationId,
    }),
  );
}

/**
 * Decodes and checks a BidPlaced payload; anything malformed is a ContractError with the reason.
 * bidderId is always set: userId when the producer predates bidder_id.
 */
export function bidPlacedFromProto(payload: Uint8Array): BidPlaced & { bidderId: string } {
  const decoded = decodePayload(BID_PLACED, BidPlacedSchema, payload);
  const event: BidPlaced & { bidderId: string } = {
    eventId: decoded.eventId,
    itemId: decoded.itemId,
    bidId: decoded.bidId,
    userId: decoded.userId,
    // proto3 cannot tell an empty string from an absent field: empty means an older producer.
    bidderId: decoded.bidderId || decoded.userId,
    amountCents: decoded.amountCents,
    sequence: decoded.sequence,
    placedAt: decoded.placedAt ? timestampDate(decoded.placedAt) : new Date(0),
    correlationId: decoded.correlationId,
  };
  for (const field of ['eventId', 'itemId', 'bidId', 'userId'] as const) {
    if (event[field] === '') throw new ContractError(BID_PLACED, `${field} is missing`);
  }
  if (event.amountCents <= 0n) throw new ContractError(BID_PLACED, 'amountCents must be positive');
  if (event.sequence <= 0n) throw new ContractError(BID_PLACED, 'sequence must be positive');
  if (!decoded.placedAt) throw new ContractError(BID_PLACED, 'placedAt is missing');
  return event;
}
