// Which failures say "what the consumer writes to is down", not "this message is bad". The
// consumer holds its messages through the first kind (dependency-gate.ts) and counts only the
// second against a message's attempts: an outage must not fill the dead-letter queue.
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, SocketClosedUnexpectedlyError } from '@redis/client';
import { postgresUnreachable } from '../postgres-unreachable.ts';

export function isDependencyDown(err: unknown): boolean {
  // PostgreSQL by the table the API's answers use; Redis by its client's own error classes.
  if (postgresUnreachable(err)) return true;
  return (
    err instanceof ClientClosedError ||
    err instanceof ClientOfflineError ||
    err instanceof SocketClosedUnexpectedlyError ||
    err instanceof ConnectionTimeoutError
  );
}
