import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import pg from 'pg';
import { BidTooLowDetailSchema, BusyDetailSchema, FieldViolationSchema } from '#shared/api/gen/auction/api/v1/auction_pb.ts';
import { TodoError } from '#shared/todo-error.ts';
import { AuctionEnded, BidTooLow, Busy, DeadlineExceeded, ItemNotFound, RequestIdReused, RetriesExhausted, ValidationError } from '../errors.ts';

/** The API's name of a field ("start_price_cents"), from the app's ("startPriceCents"). */
export const apiFieldName = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The one place domain errors become Connect errors, with the facts a client acts on as typed
 * details. Unknown errors become `internal` with nothing of their message leaked.
 */
export function errorToConnect(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  // #region m6: map each typed error to its Connect code, with its facts as details
  if (err instanceof ValidationError) {
    const field = apiFieldName(err.field);
    return new ConnectError(`${field} ${err.problem}`, Code.InvalidArgument, undefined, [{ desc: FieldViolationSchema, value: create(FieldViolationSchema, { field, description: err.problem }) }]);
  }
  if (err instanceof ItemNotFound) return new ConnectError(err.message, Code.NotFound);
  // The bidder can outbid: the detail says the amount to reach.
  if (err instanceof BidTooLow) {
    const detail = create(BidTooLowDetailSchema, { minimumNextBidCents: err.minimumNextCents, ...(err.currentCents === undefined ? {} : { currentPriceCents: err.currentCents }) });
    return new ConnectError(err.message, Code.FailedPrecondition, undefined, [{ desc: BidTooLowDetailSchema, value: detail }]);
  }
  if (err instanceof AuctionEnded) return new ConnectError(err.message, Code.FailedPrecondition);
  // already_exists, not failed_precondition: no change of state makes this id usable again; a new id is the fix.
  if (err instanceof RequestIdReused) return new ConnectError(err.message, Code.AlreadyExists);
  if (err instanceof DeadlineExceeded) return new ConnectError(err.message, Code.DeadlineExceeded);
  // Contention, not a mistake: unavailable is the code clients retry, after the hinted pause.
  if (err instanceof Busy || err instanceof RetriesExhausted) {
    const retryAfterMs = err instanceof Busy ? err.retryAfterMs : 1_000;
    return new ConnectError(err.message, Code.Unavailable, { 'retry-after-ms': String(retryAfterMs) }, [{ desc: BusyDetailSchema, value: create(BusyDetailSchema, { retryAfterMs }) }]);
  }
  // statement_timeout, which a call's deadline lowers (api/auction-service.ts): the caller's time ran out.
  if (err instanceof pg.DatabaseError && err.code === '57014') return new ConnectError('the deadline passed before the database finished', Code.DeadlineExceeded);
  if (err instanceof TodoError) return new ConnectError(err.message, Code.Unimplemented);
  return new ConnectError('internal error; the server logged it with this call’s correlation id', Code.Internal);
  // #stub
  // throw new TodoError('m6', `map ${(err as Error)?.name ?? 'an error'} to a Connect code in api/errors-to-connect.ts`);
  // #endregion
}
