// Errors a caller can act on. Each carries the facts the caller needs; the HTTP layer
// maps them to status codes in one place (http/errors-to-http.ts).

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    /** The input field at fault, e.g. "startPriceCents". */
    readonly field: string,
    /** What was wrong, for a person: "must be a whole number of cents greater than 0". */
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

export class ItemNotFound extends Error {
  override name = 'ItemNotFound';
  constructor(readonly itemId: string) {
    super(`item ${itemId} does not exist`);
  }
}

/** The bid is below the minimum the item accepts now. Carries what the bidder needs to try again. */
export class BidTooLow extends Error {
  override name = 'BidTooLow';
  constructor(
    readonly itemId: string,
    /** The highest accepted bid, or undefined when there is none yet. */
    readonly currentCents: bigint | undefined,
    /** The smallest amount that would be accepted now. */
    readonly minimumNextCents: bigint,
  ) {
    super(`bid too low for item ${itemId}: the minimum is ${minimumNextCents} cents`);
  }
}

/** The auction ended (by the database's clock). */
export class AuctionEnded extends Error {
  override name = 'AuctionEnded';
  constructor(
    readonly itemId: string,
    readonly endedAt: Date,
  ) {
    super(`the auction of item ${itemId} ended at ${endedAt.toISOString()}`);
  }
}

/** The item is locked by someone else for longer than lock_timeout. Safe to retry. */
export class Busy extends Error {
  override name = 'Busy';
  constructor(
    readonly itemId: string,
    readonly retryAfterMs: number,
  ) {
    super(`item ${itemId} is busy; retry in about ${retryAfterMs} ms`);
  }
}

/** Deadlocks or serialization failures kept happening after every allowed retry. Safe to retry later. */
export class RetriesExhausted extends Error {
  override name = 'RetriesExhausted';
  constructor(
    readonly attempts: number,
    readonly lastCode: string,
  ) {
    super(`gave up after ${attempts} attempts (last SQLSTATE ${lastCode}); retry later`);
  }
}

/**
 * The bidder's request id already belongs to another request (another item or amount). Not
 * retryable with this id, ever: the client must send this request under a new request id.
 */
export class RequestIdReused extends Error {
  override name = 'RequestIdReused';
  constructor(
    readonly requestId: string,
    /** The request that owns the id: the bid it produced. */
    readonly original: { bidId: string; itemId: string; amountCents: bigint },
  ) {
    super(
      `request id ${requestId} was already used for another request (a bid of ${original.amountCents} cents on item ${original.itemId}, bid ${original.bidId}); send this request with a new request id`,
    );
  }
}

/** The caller's deadline passed before the bid committed: it was rolled back, nothing was written. */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
  constructor(readonly itemId: string) {
    super(`the deadline passed before the bid on item ${itemId} committed; nothing was written, and the same request may be sent again with a longer deadline`);
  }
}
