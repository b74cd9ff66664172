import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { BidTooLowDetailSchema, BusyDetailSchema, FieldViolationSchema } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { toDomainError, type DomainError } from '../errors.ts';

/** The API's name of a field ("start_price_cents"), from the app's ("startPriceCents"). */
export const apiFieldName = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A bug: `internal`, with nothing of its message (driver and SQL text stay in the log). */
export const internalError = () => new ConnectError('internal error; the server logged it with this call’s correlation id', Code.Internal);

/**
 * The one place errors become Connect errors: a DomainError by its code, with the facts a
 * client acts on as typed details; a ConnectError (the protocol's own) as it is; anything else
 * `internal`, leaking nothing.
 */
export function errorToConnect(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof TodoError) return new ConnectError(err.message, Code.Unimplemented);
  const domain = toDomainError(err);
  return domain === undefined ? internalError() : domainErrorToConnect(domain);
}

/** `unavailable` is the code Connect and gRPC clients retry: the hint says after how long. */
const retryLater = (message: string, retryAfterMs: number) =>
  new ConnectError(message, Code.Unavailable, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))), 'retry-after-ms': String(retryAfterMs) }, [
    { desc: BusyDetailSchema, value: create(BusyDetailSchema, { retryAfterMs }) },
  ]);

/** One code per DomainError. A DomainError added without a case here fails typecheck at `never`. */
export function domainErrorToConnect(err: DomainError): ConnectError {
  // #region m6: map each domain error to its Connect code, with its facts as details; a new code without a case must not compile
  switch (err.code) {
    case 'invalid_input': {
      const field = apiFieldName(err.field);
      return new ConnectError(`${field} ${err.problem}`, Code.InvalidArgument, undefined, [
        { desc: FieldViolationSchema, value: create(FieldViolationSchema, { field, description: err.problem }) },
      ]);
    }
    case 'item_not_found':
      return new ConnectError(err.message, Code.NotFound);
    // The bidder can outbid: the detail says the amount to reach.
    case 'bid_too_low': {
      const detail = create(BidTooLowDetailSchema, {
        minimumNextBidCents: err.minimumNextCents,
        ...(err.currentCents === undefined ? {} : { currentPriceCents: err.currentCents }),
      });
      return new ConnectError(err.message, Code.FailedPrecondition, undefined, [{ desc: BidTooLowDetailSchema, value: detail }]);
    }
    case 'auction_ended':
      return new ConnectError(err.message, Code.FailedPrecondition);
    // already_exists, not failed_precondition: no change of state makes this id usable again; a new id is the fix.
    case 'request_id_reused':
      return new ConnectError(err.message, Code.AlreadyExists);
    case 'deadline_exceeded':
      return new ConnectError(err.message, Code.DeadlineExceeded);
    // Contention, not a mistake: retry after the hinted pause.
    case 'busy':
      return retryLater(err.message, err.retryAfterMs);
    case 'retries_exhausted':
      return retryLater(err.message, 1_000);
    // The database is down: `internal` would tell the client's retry policy "bug, give up".
    case 'dependency_unavailable':
      return retryLater(err.message, err.retryAfterMs);
    // statement_timeout, which a call's deadline lowers (api/auction-service.ts): the caller's time ran out.
    case 'statement_timeout':
      return new ConnectError(err.message, Code.DeadlineExceeded);
    // No valid bearer token: the client signs in (again); the message says what was wrong with it.
    case 'unauthenticated':
      return new ConnectError(err.message, Code.Unauthenticated);
    // Turned off by configuration: permission_denied, not unimplemented (HTTP 501, a 5xx that alerts).
    case 'sign_in_disabled':
      return new ConnectError(err.message, Code.PermissionDenied);
    default: {
      const unmapped: never = err;
      throw new Error(`no Connect code for ${JSON.stringify(unmapped)}`);
    }
  }
  // #stub
  // throw new TodoError('m6', `map ${err.code} to a Connect code in api/errors-to-connect.ts (a switch over err.code, one case per DomainError)`);
  // #endregion
}
