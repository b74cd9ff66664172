import pg from 'pg';
import type { Logger } from '#runtime/logger.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { OUTBOX_CHANNEL } from './outbox-event.ts';

export interface WorkSignal {
  /** Resolves on the next NOTIFY, or after `ms` (the polling fallback), whichever comes first. Several may wait at once. */
  wait(ms: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A dedicated LISTEN connection that wakes the relay when an outbox row commits. A NOTIFY
 * sent while this connection is down is lost, which is why wait() also times out: polling
 * is the fallback, the table is the truth.
 */
export function listenForWork(deps: { databaseUrl: string; log: Logger }): WorkSignal {
  // #region m2: LISTEN for outbox notifications on a connection of its own, reconnecting when it drops
  throw new TodoError('m2', 'listen for outbox notifications in outbox/wait-for-work.ts');
  // #endregion
}
