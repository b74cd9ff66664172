// Which failures say "PostgreSQL is not there" (down, restarting, cut off), not "this request
// or message is wrong". One table for the answers (errors.ts: 503 / unavailable) and for the
// consumers (consumers/dependency-down.ts: hold the message, do not spend its attempts).
import pg from 'pg';
import { sqlStateRetry } from '#runtime/retry.ts';

// The socket could not be opened or was lost (a server restarting, a network cut). Node's own
// codes, the same whichever client met them.
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

// node-postgres reports a lost or never-established connection, and pg-pool a wait for a free
// client that timed out, as plain Errors: their messages are all there is to go by.
const PG_CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error/,
  /is not queryable/,
];

export function postgresUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Class 08: connection exception; 57P01-57P05: the server is shutting down or cannot accept connections yet.
  if (err instanceof pg.DatabaseError) return sqlStateRetry(err.code) === 'connection';
  const code = (err as NodeJS.ErrnoException).code;
  if (code && SOCKET_ERRORS.has(code)) return true;
  return PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(err.message));
}
