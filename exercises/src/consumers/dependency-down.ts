// Which failures say "what the consumer writes to is down", not "this message is bad". The
// consumer holds its messages through the first kind (dependency-gate.ts) and counts only the
// second against a message's attempts: an outage must not fill the dead-letter queue.
import pg from 'pg';
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, SocketClosedUnexpectedlyError } from 'redis';

// The socket could not be opened or was lost (PostgreSQL or Redis restarting, a network cut).
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

// node-postgres reports a lost or never-established connection, and pg-pool a wait for a free
// client that timed out, as plain Errors: their messages are all there is to go by.
const PG_CONNECTION_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect$/, /is not queryable/];

export function isDependencyDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Class 08: connection exception; 57P01-57P05: the server is shutting down or cannot accept connections yet.
  if (err instanceof pg.DatabaseError) return err.code?.startsWith('08') === true || err.code?.startsWith('57P') === true;
  if (err instanceof ClientClosedError || err instanceof ClientOfflineError || err instanceof SocketClosedUnexpectedlyError || err instanceof ConnectionTimeoutError) return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && SOCKET_ERRORS.has(code)) return true;
  return PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(err.message));
}
