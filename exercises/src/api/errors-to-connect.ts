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
  throw new TodoError('m6', `map ${(err as Error)?.name ?? 'an error'} to a Connect code in api/errors-to-connect.ts`);
  // #endregion
}
