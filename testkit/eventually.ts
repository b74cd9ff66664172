import { loadNote, patient } from './patience.ts';
import { noticeTodo, stubInTheWay } from './stub-in-the-way.ts';
import { waitingFor } from './waits.ts';
import { coerceError } from '../runtime/coerce-error.ts';

/**
 * Polls `read` until `done` holds (or `timeoutMs` passes) and returns the last value. For
 * state that converges (a reconnect, a readiness flip); the assertion is on the value, not
 * on how long it took.
 */
export function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  return waitingFor(what, poll(read, done, what, timeoutMs));
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs: number): Promise<T> {
  const limit = patient(timeoutMs);
  const deadline = Date.now() + limit;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
      noticeTodo(JSON.stringify(last, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)) ?? '', `waiting for ${what}, the answer`);
    } catch (err) {
      // An unwritten stub will never converge: say so now instead of after the timeout.
      if (coerceError(err).name === 'TodoError') throw err;
      lastError = err;
      noticeTodo(String(coerceError(err).message), `waiting for ${what}, the call`);
    }
    const stub = stubInTheWay();
    if (stub) throw stub;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = lastError
    ? `last error: ${coerceError(lastError).message}`
    : `last value: ${JSON.stringify(last, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
  throw new Error(`expected ${what} within ${limit} ms (${loadNote()}); ${seen}`);
}
