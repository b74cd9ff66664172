import pg from 'pg';
import type { Logger } from '#runtime/logger.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { OUTBOX_CHANNEL } from './outbox-event.ts';

/** What one relay loop waits on between two reads of the table. */
export interface WorkSignal {
  /** Resolves on the next NOTIFY, or after `ms` (the polling fallback), whichever comes first. */
  wait(ms: number): Promise<void>;
}

/** The LISTEN connection, shared by the relay's loops (one per partition). */
export interface WorkListener {
  /** A signal of its own for one loop of the relay, which runs one loop per partition, all on this one connection. */
  signal(): WorkSignal;
  close(): Promise<void>;
}

/**
 * A dedicated LISTEN connection that wakes the relay when an outbox row commits. A NOTIFY
 * sent while this connection is down is lost, which is why wait() also times out: polling
 * is the fallback, the table is the truth.
 */
export function listenForWork(deps: { databaseUrl: string; log: Logger }): WorkListener {
  // #region m2: LISTEN for outbox notifications on a connection of its own, reconnecting when it drops
  throw new TodoError('m2', 'listen for outbox notifications in outbox/wait-for-work.ts');
  // #endregion
}
