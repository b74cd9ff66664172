import { TodoError } from '#shared/todo-error.ts';
import { ItemNotFound, ValidationError } from '../errors.ts';

export interface HttpError {
  status: number;
  body: { error: { code: string; message: string; field?: string } };
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
  // A stub the learner has not written yet: say so instead of a bare 500.
  if (err instanceof TodoError) {
    return { status: 501, body: { error: { code: 'unimplemented', message: err.message } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the server log has the details under this correlation id' } } };
}
