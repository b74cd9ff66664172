import { TodoError } from '#shared/todo-error.ts';
import { AuctionEnded, BidTooLow, Busy, DeadlineExceeded, ItemNotFound, RequestIdReused, RetriesExhausted, ValidationError } from '../errors.ts';

export interface HttpError {
  status: number;
  body: { error: { code: string; message: string; field?: string; [fact: string]: unknown } };
  headers?: Record<string, string>;
}

/** The one place domain errors become HTTP answers. Unknown errors are 500s that leak nothing. */
export function errorToHttp(err: unknown): HttpError {
  // Bad input: the client can fix the named field and retry.
  if (err instanceof ValidationError) {
    return { status: 400, body: { error: { code: 'invalid_argument', message: err.message, field: err.field } } };
  }
  if (err instanceof ItemNotFound) {
    return { status: 404, body: { error: { code: 'not_found', message: err.message } } };
  }
  // The bidder can outbid: tell them the price to beat (money as strings of cents).
  if (err instanceof BidTooLow) {
    return { status: 409, body: { error: { code: 'bid_too_low', message: err.message, currentCents: err.currentCents?.toString() ?? null, minimumNextCents: err.minimumNextCents.toString() } } };
  }
  if (err instanceof AuctionEnded) {
    return { status: 409, body: { error: { code: 'auction_ended', message: err.message, endedAt: err.endedAt.toISOString() } } };
  }
  // The id is taken by another request: retrying with it can never succeed; the client mints a new one.
  if (err instanceof RequestIdReused) {
    const { bidId, itemId, amountCents } = err.original;
    return { status: 409, body: { error: { code: 'request_id_reused', message: err.message, requestId: err.requestId, original: { bidId, itemId, amountCents: amountCents.toString() } } } };
  }
  if (err instanceof DeadlineExceeded) {
    return { status: 504, body: { error: { code: 'deadline_exceeded', message: err.message } } };
  }
  // Contention, not a mistake: the same request may succeed a moment later.
  if (err instanceof Busy || err instanceof RetriesExhausted) {
    const retryAfterMs = err instanceof Busy ? err.retryAfterMs : 1_000;
    return { status: 503, body: { error: { code: 'unavailable', message: err.message, retryAfterMs } }, headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } };
  }
  // A stub the learner has not written yet: say so instead of a bare 500.
  if (err instanceof TodoError) {
    return { status: 501, body: { error: { code: 'unimplemented', message: err.message } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the server log has the details under this correlation id' } } };
}
