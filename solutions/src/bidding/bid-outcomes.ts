import type { Metrics } from '#runtime/metrics.ts';
import type { Bid } from './bid.ts';
import { coerceError } from '#runtime/coerce-error.ts';

/** The `reason` label of auction_bids_rejected_total for each refusal; anything else is `error`. */
const REASONS: Record<string, string> = {
  BidTooLow: 'too_low',
  AuctionEnded: 'auction_ended',
  Busy: 'busy',
  ValidationError: 'invalid',
  ItemNotFound: 'not_found',
  RetriesExhausted: 'retries_exhausted',
  RequestIdReused: 'request_id_reused',
  DeadlineExceeded: 'deadline_exceeded',
  DependencyUnavailable: 'unavailable',
  StatementTimeout: 'deadline_exceeded',
};

/**
 * Places one bid and counts how it ended (accepted, or rejected with its reason), so every
 * transport that places bids reports the same figures. Without metrics it only places the bid.
 */
export async function countOutcome(metrics: Pick<Metrics, 'bids'> | undefined, place: () => Promise<Bid>): Promise<Bid> {
  try {
    const bid = await place();
    metrics?.bids.accepted.inc();
    return bid;
  } catch (err) {
    metrics?.bids.rejected.inc({ reason: REASONS[coerceError(err).name] ?? 'error' });
    throw err;
  }
}
