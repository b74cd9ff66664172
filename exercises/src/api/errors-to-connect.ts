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
  throw new TodoError('m6', `map ${err.code} to a Connect code in api/errors-to-connect.ts (a switch over err.code, one case per DomainError)`);
  // #endregion
}
