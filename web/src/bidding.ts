// One click of "Bid" is one request id. A retry of that click (the item's lock was busy, the
// server restarted mid-call, the network dropped the answer) sends the same id, so the server
// answers a bid it already accepted with that bid instead of placing a second one
// (milestone 3's idempotency). A new click gets a new id.
import { Code, ConnectError } from '@connectrpc/connect';
import { BidTooLowDetailSchema, BusyDetailSchema, FieldViolationSchema, type Bid } from '../../runtime/gen/auction/api/v1/auction_pb.ts';
import type { AuctionClient } from './api.ts';
import { formatCents } from './money.ts';

export interface BidAttempt {
  itemId: string;
  amountCents: bigint;
  requestId: string;
}

export type BidOutcome = { ok: true; bid: Bid } | { ok: false; message: string; error: ConnectError };

/** Places the bid, retrying what is worth retrying with the same request id. */
export async function placeBid(client: AuctionClient, attempt: BidAttempt, onRetry: (message: string) => void, maxAttempts = 6): Promise<BidOutcome> {
  for (let n = 1; ; n++) {
    try {
      const { bid } = await client.placeBid({ itemId: attempt.itemId, amountCents: attempt.amountCents, requestId: attempt.requestId });
      return { ok: true, bid: bid! };
    } catch (err) {
      const error = ConnectError.from(err);
      if (!answerMayBeLost(error) || n === maxAttempts) return { ok: false, message: explainBidError(error, n > 1), error };
      // The server's hint when it gave one (BusyDetail), else exponential backoff.
      const hinted = error.findDetails(BusyDetailSchema)[0]?.retryAfterMs;
      const waitMs = Math.min(5_000, hinted ?? 200 * 2 ** (n - 1));
      onRetry(`${busyWords(error)}; retrying in ${(waitMs / 1000).toFixed(1)} s (attempt ${n + 1} of ${maxAttempts}, same request, so it counts once)`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/**
 * Failures after which nobody knows whether the bid was placed, so the same request is sent
 * again: unavailable (busy, or no server answered: a restart), unknown (the browser's fetch
 * failed: the connection dropped before an answer), deadline_exceeded, and internal (the
 * server failed, possibly after the bid committed: a new request id for the same click would
 * then place it twice). The same request id makes each retry safe.
 */
export const answerMayBeLost = (error: ConnectError) =>
  error.code === Code.Unavailable || error.code === Code.Unknown || error.code === Code.DeadlineExceeded || error.code === Code.Internal;

const busyWords = (error: ConnectError) =>
  error.findDetails(BusyDetailSchema).length > 0
    ? 'Busy: other bids on this item are being placed'
    : error.code === Code.Internal
      ? 'The auction server failed while placing your bid'
      : 'The auction server did not answer';

/** What a person wants to read, from the error's code and typed details. */
export function explainBidError(error: ConnectError, retried = false): string {
  switch (error.code) {
    case Code.FailedPrecondition: {
      const tooLow = error.findDetails(BidTooLowDetailSchema)[0];
      if (tooLow) {
        const current = tooLow.currentPriceCents === undefined ? 'There are no bids yet' : `The price is ${formatCents(tooLow.currentPriceCents)}`;
        return `Too low. ${current}; the minimum bid is ${formatCents(tooLow.minimumNextBidCents)}.`;
      }
      return 'This auction has ended; no more bids are taken.';
    }
    case Code.AlreadyExists:
      return 'This bid’s request id was already used for a different bid. Press Bid again to send it as a new bid.';
    case Code.InvalidArgument: {
      const violation = error.findDetails(FieldViolationSchema)[0];
      return violation ? `Check the ${violation.field.replace(/_/g, ' ')}: ${violation.description}.` : `The bid was refused: ${error.rawMessage}.`;
    }
    case Code.Unauthenticated:
      return 'Sign in to bid: bids are placed by a signed-in bidder.';
    case Code.NotFound:
      return 'This item no longer exists.';
    case Code.Unavailable:
    case Code.Unknown:
    case Code.DeadlineExceeded:
    case Code.Internal:
      return `${busyWords(error)}${retried ? ', even after retrying' : ''}. Your bid may not have been placed; press Bid again to retry it.`;
    default:
      return `The bid failed: ${error.rawMessage}.`;
  }
}
