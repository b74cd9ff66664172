import { TodoError } from '#runtime/todo-error.ts';
import { toDomainError, type DomainError } from '../errors.ts';

export interface HttpError {
  status: number;
  body: { error: { code: string; message: string; field?: string; [fact: string]: unknown } };
  headers?: Record<string, string>;
}

/** A bug (anything toDomainError does not know): 500, and not a word of what it said. */
export const INTERNAL: HttpError = {
  status: 500,
  body: { error: { code: 'internal', message: 'internal error; the server log has the details under this correlation id' } },
};

/** The one place errors become HTTP answers: a DomainError by its code, anything else a 500 that leaks nothing. */
export function errorToHttp(err: unknown): HttpError {
  // A stub the learner has not written yet: say so instead of a bare 500.
  if (err instanceof TodoError) return unimplemented(err);
  const domain = toDomainError(err);
  if (domain === undefined) return INTERNAL;
  try {
    return domainErrorToHttp(domain);
  } catch (todo) {
    if (todo instanceof TodoError) return unimplemented(todo);
    throw todo;
  }
}

const unimplemented = (todo: TodoError): HttpError => ({ status: 501, body: { error: { code: 'unimplemented', message: todo.message } } });

/** Retry-After is in whole seconds; the body keeps the milliseconds. */
const retryLater = (message: string, retryAfterMs: number): HttpError => ({
  status: 503,
  body: { error: { code: 'unavailable', message, retryAfterMs } },
  headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
});

/** RFC 6750's challenge: no token at all is a bare Bearer; a bad one says invalid_token. */
export const bearerChallenge = (reason: string) => (reason === 'missing' ? 'Bearer realm="auction"' : 'Bearer realm="auction", error="invalid_token"');

/** One answer per code. A DomainError added without a case here fails typecheck at `never`. */
export function domainErrorToHttp(err: DomainError): HttpError {
  // #region m1: answer each domain error by its code; a new code without a case must not compile
  switch (err.code) {
    // Bad input: the client can fix the named field and retry.
    case 'invalid_input':
      return { status: 400, body: { error: { code: 'invalid_argument', message: err.message, field: err.field } } };
    case 'item_not_found':
      return { status: 404, body: { error: { code: 'not_found', message: err.message } } };
    // The bidder can outbid: tell them the price to beat (money as strings of cents).
    case 'bid_too_low':
      return {
        status: 409,
        body: {
          error: {
            code: 'bid_too_low',
            message: err.message,
            currentCents: err.currentCents?.toString() ?? null,
            minimumNextCents: err.minimumNextCents.toString(),
          },
        },
      };
    case 'auction_ended':
      return { status: 409, body: { error: { code: 'auction_ended', message: err.message, endedAt: err.endedAt.toISOString() } } };
    // The id is taken by another request: retrying with it can never succeed; the client mints a new one.
    case 'request_id_reused': {
      const { bidId, itemId, amountCents } = err.original;
      return {
        status: 409,
        body: {
          error: {
            code: 'request_id_reused',
            message: err.message,
            requestId: err.requestId,
            original: { bidId, itemId, amountCents: amountCents.toString() },
          },
        },
      };
    }
    // The caller's deadline passed before the commit: rolled back, the same answer as Connect's.
    case 'deadline_exceeded':
      return { status: 504, body: { error: { code: 'deadline_exceeded', message: err.message } } };
    // Contention, not a mistake: the same request may succeed a moment later.
    case 'busy':
      return retryLater(err.message, err.retryAfterMs);
    case 'retries_exhausted':
      return retryLater(err.message, 1_000);
    // The database is down, not the request wrong: 503 is what load balancers and clients retry; 500 says "bug".
    case 'dependency_unavailable':
      return retryLater(err.message, err.retryAfterMs);
    // The database ran past statement_timeout: the same answer a Connect caller gets (deadline_exceeded).
    case 'statement_timeout':
      return { status: 504, body: { error: { code: 'deadline_exceeded', message: err.message } } };
    // No valid bearer token: 401 with the challenge RFC 6750 asks for, the reason in the body.
    case 'unauthenticated':
      return {
        status: 401,
        body: { error: { code: 'unauthenticated', message: err.message, reason: err.reason } },
        headers: { 'www-authenticate': bearerChallenge(err.reason) },
      };
    // Turned off here, not broken: 403, never a 5xx that would page someone for a client's call.
    case 'sign_in_disabled':
      return { status: 403, body: { error: { code: 'permission_denied', message: err.message } } };
    default: {
      const unmapped: never = err;
      throw new Error(`no HTTP answer for ${JSON.stringify(unmapped)}`);
    }
  }
  // #stub
  // throw new TodoError('m1', `answer ${err.code} in http/errors-to-http.ts (a switch over err.code, one case per DomainError)`);
  // #endregion
}
