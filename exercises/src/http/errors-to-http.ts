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
  throw new TodoError('m1', `answer ${err.code} in http/errors-to-http.ts (a switch over err.code, one case per DomainError)`);
  // #endregion
}
