// The closed set of errors a caller can act on (connect-es's shape). Each carries a literal
// `code` and the facts the caller needs; DomainError is their union, and toDomainError is the
// one function that turns anything thrown into one of them (or undefined: a bug, answered as
// `internal`). The HTTP mapper (http/errors-to-http.ts) and the Connect mapper
// (api/errors-to-connect.ts) each switch over `code` and end in a `never` check, so an error
// added here without an answer on both transports fails `npm run typecheck`.
import pg from 'pg';
import { postgresUnreachable } from './postgres-unreachable.ts';

export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly code = 'invalid_input';
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
  readonly code = 'item_not_found';
  constructor(readonly itemId: string) {
    super(`item ${itemId} does not exist`);
  }
}

/** The bid is below the minimum the item accepts now. Carries what the bidder needs to try again. */
export class BidTooLow extends Error {
  override name = 'BidTooLow';
  readonly code = 'bid_too_low';
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
  readonly code = 'auction_ended';
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
  readonly code = 'busy';
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
  readonly code = 'retries_exhausted';
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
  readonly code = 'request_id_reused';
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
  readonly code = 'deadline_exceeded';
  constructor(readonly itemId: string) {
    super(`the deadline passed before the bid on item ${itemId} committed; nothing was written, and the same request may be sent again with a longer deadline`);
  }
}

/**
 * A dependency the request needs did not answer: connection refused or cut, no pooled
 * connection within the pool's wait, or the server shutting down (SQLSTATE classes 08 and
 * 57P). Not the caller's mistake and not a bug: the same request may succeed once it is back.
 */
export class DependencyUnavailable extends Error {
  override name = 'DependencyUnavailable';
  readonly code = 'dependency_unavailable';
  constructor(
    /** postgres, or the identity provider whose key set (AUTH_JWKS_URL) did not answer. */
    readonly dependency: 'postgres' | 'identity provider',
    readonly retryAfterMs: number,
    options?: { cause: unknown },
  ) {
    // The driver's words stay in the log (cause): they name hosts and statements.
    super(`${dependency} is unavailable; retry in about ${Math.ceil(retryAfterMs / 1000)} s`, options);
  }
}

/** A statement ran past its statement_timeout (57014), which a caller's deadline lowers. */
export class StatementTimeout extends Error {
  override name = 'StatementTimeout';
  readonly code = 'statement_timeout';
  constructor(options?: { cause: unknown }) {
    super('the database did not finish in time; nothing was written, retry later', options);
  }
}

/** Why a call that needs a signed-in caller was refused; each has its own message. */
export type AuthFailure =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'unknown_key'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'algorithm_not_allowed'
  | 'invalid_claims'
  | 'no_key_set';

/**
 * A write without a valid bearer token (milestone 6): none, or one that is expired, tampered
 * with, signed by a key the server does not trust, or meant for another issuer or audience.
 * The message says which, so the caller knows whether to sign in again or fix its client.
 */
export class Unauthenticated extends Error {
  override name = 'Unauthenticated';
  readonly code = 'unauthenticated';
  constructor(
    readonly reason: AuthFailure,
    message: string,
  ) {
    super(message);
  }
}

/** SignIn on a server where dev sign-in is off (production): its tokens come from the identity provider. */
export class SignInDisabled extends Error {
  override name = 'SignInDisabled';
  readonly code = 'sign_in_disabled';
  constructor() {
    super('sign-in with a demo user name is turned off on this server (AUTH_DEV_SIGN_IN is not true); get a token from the identity provider instead');
  }
}

export type DomainError =
  | ValidationError
  | ItemNotFound
  | BidTooLow
  | AuctionEnded
  | Busy
  | RetriesExhausted
  | RequestIdReused
  | DeadlineExceeded
  | DependencyUnavailable
  | StatementTimeout
  | Unauthenticated
  | SignInDisabled;
export type DomainErrorCode = DomainError['code'];

/** How long a caller should wait before trying again after a dependency failed. */
const DEPENDENCY_RETRY_AFTER_MS = 1_000;

/**
 * The one place anything thrown becomes a DomainError: ours as they are, the driver's
 * "the database is not there" and "ran out of time" as DependencyUnavailable and
 * StatementTimeout. Anything else is undefined: a bug, which the mappers answer as `internal`
 * without a word of its message.
 */
export function toDomainError(err: unknown): DomainError | undefined {
  if (
    err instanceof ValidationError ||
    err instanceof ItemNotFound ||
    err instanceof BidTooLow ||
    err instanceof AuctionEnded ||
    err instanceof Busy ||
    err instanceof RetriesExhausted ||
    err instanceof RequestIdReused ||
    err instanceof DeadlineExceeded ||
    err instanceof DependencyUnavailable ||
    err instanceof StatementTimeout ||
    err instanceof Unauthenticated ||
    err instanceof SignInDisabled
  ) {
    return err;
  }
  if (err instanceof pg.DatabaseError && err.code === '57014') return new StatementTimeout({ cause: err });
  // Refused, cut, pool wait over, SQLSTATE 08 and 57P: the table the consumers use too.
  if (postgresUnreachable(err)) return new DependencyUnavailable('postgres', DEPENDENCY_RETRY_AFTER_MS, { cause: err });
  return undefined;
}
