import Long from 'long';
import { ContractError, eventType } from './contracts.ts';
import { coerceError } from '../coerce-error.ts';

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

const type = () => eventType('BidPlaced');
const toLong = (n: bigint) => Long.fromString(n.toString(), false);
const fromLong = (v: unknown): bigint => BigInt(Long.isLong(v) ? (v as Long).toString() : String(v ?? 0));

export function bidPlacedToProto(event: BidPlaced): Uint8Array {
  const millis = event.placedAt.getTime();
  const message = type().fromObject({
    eventId: event.eventId,
    itemId: event.itemId,
    bidId: event.bidId,
    userId: event.userId,
    bidderId: event.bidderId,
    amountCents: toLong(event.amountCents),
    sequence: toLong(event.sequence),
    placedAt: { seconds: toLong(BigInt(Math.floor(millis / 1000))), nanos: (millis % 1000) * 1_000_000 },
    correlationId: event.correlationId,
  });
  return type().encode(message).finish();
}

/**
 * Decodes and checks a BidPlaced payload; anything malformed is a ContractError with the reason.
 * bidderId is always set: userId when the producer predates bidder_id.
 */
export function bidPlacedFromProto(payload: Uint8Array): BidPlaced & { bidderId: string } {
  let decoded: Record<string, unknown>;
  try {
    decoded = type().toObject(type().decode(payload), { longs: Long, defaults: true }) as Record<string, unknown>;
  } catch (err) {
    throw new ContractError(BID_PLACED, coerceError(err).message);
  }
  const placedAt = decoded.placedAt as { seconds?: unknown; nanos?: number } | undefined;
  const userId = String(decoded.userId);
  const event: BidPlaced & { bidderId: string } = {
    eventId: String(decoded.eventId),
    itemId: String(decoded.itemId),
    bidId: String(decoded.bidId),
    userId,
    // proto3 cannot tell an empty string from an absent field: empty means an older producer.
    bidderId: String(decoded.bidderId) || userId,
    amountCents: fromLong(decoded.amountCents),
    sequence: fromLong(decoded.sequence),
    placedAt: new Date(Number(fromLong(placedAt?.seconds)) * 1000 + Math.floor((placedAt?.nanos ?? 0) / 1_000_000)),
    correlationId: String(decoded.correlationId),
  };
  for (const field of ['eventId', 'itemId', 'bidId', 'userId'] as const) {
    if (event[field] === '') throw new ContractError(BID_PLACED, `${field} is missing`);
  }
  if (event.amountCents <= 0n) throw new ContractError(BID_PLACED, 'amountCents must be positive');
  if (event.sequence <= 0n) throw new ContractError(BID_PLACED, 'sequence must be positive');
  if (!placedAt) throw new ContractError(BID_PLACED, 'placedAt is missing');
  return event;
}
