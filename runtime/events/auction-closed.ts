import Long from 'long';
import { ContractError, eventType } from './contracts.ts';
import { coerceError } from '../coerce-error.ts';

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

const type = () => eventType('AuctionClosed');
const toLong = (n: bigint) => Long.fromString(n.toString(), false);
const fromLong = (v: unknown): bigint => BigInt(Long.isLong(v) ? (v as Long).toString() : String(v ?? 0));

export function auctionClosedToProto(event: AuctionClosed): Uint8Array {
  const millis = event.closedAt.getTime();
  const message = type().fromObject({
    eventId: event.eventId,
    itemId: event.itemId,
    winnerId: event.winnerId ?? '',
    finalPriceCents: toLong(event.finalPriceCents),
    bidCount: toLong(event.bidCount),
    sequence: toLong(event.sequence),
    closedAt: { seconds: toLong(BigInt(Math.floor(millis / 1000))), nanos: (millis % 1000) * 1_000_000 },
    correlationId: event.correlationId,
  });
  return type().encode(message).finish();
}

/** Decodes and checks an AuctionClosed payload; anything malformed is a ContractError with the reason. */
export function auctionClosedFromProto(payload: Uint8Array): AuctionClosed {
  let decoded: Record<string, unknown>;
  try {
    decoded = type().toObject(type().decode(payload), { longs: Long, defaults: true }) as Record<string, unknown>;
  } catch (err) {
    throw new ContractError(AUCTION_CLOSED, coerceError(err).message);
  }
  const closedAt = decoded.closedAt as { seconds?: unknown; nanos?: number } | undefined;
  const event: AuctionClosed = {
    eventId: String(decoded.eventId),
    itemId: String(decoded.itemId),
    winnerId: decoded.winnerId ? String(decoded.winnerId) : undefined,
    finalPriceCents: fromLong(decoded.finalPriceCents),
    bidCount: fromLong(decoded.bidCount),
    sequence: fromLong(decoded.sequence),
    closedAt: new Date(Number(fromLong(closedAt?.seconds)) * 1000 + Math.floor((closedAt?.nanos ?? 0) / 1_000_000)),
    correlationId: String(decoded.correlationId),
  };
  for (const field of ['eventId', 'itemId'] as const) {
    if (event[field] === '') throw new ContractError(AUCTION_CLOSED, `${field} is missing`);
  }
  if (event.finalPriceCents < 0n) throw new ContractError(AUCTION_CLOSED, 'finalPriceCents must not be negative');
  if ((event.winnerId === undefined) !== (event.finalPriceCents === 0n)) throw new ContractError(AUCTION_CLOSED, 'a winner and a final price come together');
  if (event.sequence <= 0n) throw new ContractError(AUCTION_CLOSED, 'sequence must be positive');
  if (!closedAt) throw new ContractError(AUCTION_CLOSED, 'closedAt is missing');
  return event;
}
