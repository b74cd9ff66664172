import { create, toBinary } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { AuctionClosedSchema } from '../gen/auction/events/v1/events_pb.ts';
import { ContractError, decodePayload } from './contracts.ts';

export const AUCTION_CLOSED = 'auction.events.v1.AuctionClosed';
export const AUCTION_CLOSED_ROUTING_KEY = 'auction.closed';

export interface AuctionClosed {
  eventId: string;
  itemId: string;
  /** Undefined when nobody bid. */
  winnerId: string | undefined;
  /** Minor units; 0n when nobody bid. */
  finalPriceCents: bigint;
  bidCount: bigint;
  sequence: bigint;
  closedAt: Date;
  correlationId: string;
}

export function auctionClosedToProto(event: AuctionClosed): Uint8Array {
  return toBinary(
    AuctionClosedSchema,
    create(AuctionClosedSchema, {
      eventId: event.eventId,
      itemId: event.itemId,
      winnerId: event.winnerId ?? '',
      finalPriceCents: event.finalPriceCents,
      bidCount: event.bidCount,
      sequence: event.sequence,
      closedAt: timestampFromDate(event.closedAt),
      correlationId: event.correlationId,
    }),
  );
}

/** Decodes and checks an AuctionClosed payload; anything malformed is a ContractError with the reason. */
export function auctionClosedFromProto(payload: Uint8Array): AuctionClosed {
  const decoded = decodePayload(AUCTION_CLOSED, AuctionClosedSchema, payload);
  const event: AuctionClosed = {
    eventId: decoded.eventId,
    itemId: decoded.itemId,
    winnerId: decoded.winnerId || undefined,
    finalPriceCents: decoded.finalPriceCents,
    bidCount: decoded.bidCount,
    sequence: decoded.sequence,
    closedAt: decoded.closedAt ? timestampDate(decoded.closedAt) : new Date(0),
    correlationId: decoded.correlationId,
  };
  for (const field of ['eventId', 'itemId'] as const) {
    if (event[field] === '') throw new ContractError(AUCTION_CLOSED, `${field} is missing`);
  }
  if (event.finalPriceCents < 0n) throw new ContractError(AUCTION_CLOSED, 'finalPriceCents must not be negative');
  if ((event.winnerId === undefined) !== (event.finalPriceCents === 0n)) throw new ContractError(AUCTION_CLOSED, 'a winner and a final price come together');
  if (event.sequence <= 0n) throw new ContractError(AUCTION_CLOSED, 'sequence must be positive');
  if (!decoded.closedAt) throw new ContractError(AUCTION_CLOSED, 'closedAt is missing');
  return event;
}
