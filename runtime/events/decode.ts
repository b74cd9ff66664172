// Every event type the auction publishes, by its AMQP type (and outbox event_type): one place
// that turns a payload into a checked event, for the relay's screening and for consumers.
import { AUCTION_CLOSED, auctionClosedFromProto, type AuctionClosed } from './auction-closed.ts';
import { BID_PLACED, bidPlacedFromProto, type BidPlaced } from './bid-placed.ts';
import { ContractError } from './contracts.ts';

export type AuctionEvent = { type: typeof BID_PLACED; event: BidPlaced } | { type: typeof AUCTION_CLOSED; event: AuctionClosed };

export const eventDecoders: Record<string, (payload: Uint8Array) => unknown> = {
  [BID_PLACED]: bidPlacedFromProto,
  [AUCTION_CLOSED]: auctionClosedFromProto,
};

/** The checked event, or a ContractError saying why the message cannot be one. */
export function decodeEvent(type: string | undefined, payload: Uint8Array): AuctionEvent {
  if (type === BID_PLACED) return { type, event: bidPlacedFromProto(payload) };
  if (type === AUCTION_CLOSED) return { type, event: auctionClosedFromProto(payload) };
  throw new ContractError(String(type), `unknown event type ${JSON.stringify(type ?? null)}`);
}
