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
  const waiting = new Set<() => void>();
  // A notification that came while no one waited (the relay was busy reading the table, which
  // began before that row committed): the next wait() returns at once instead of sleeping
  // through it until the poll.
  let unheard = false;
  const wakeAll = () => {
    if (waiting.size === 0) unheard = true;
    for (const wake of [...waiting]) wake();
  };
  let client: pg.Client | undefined;
  let closed = false;
  const connect = async () => {
    while (!closed && !client) {
      const candidate = new pg.Client({ connectionString: deps.databaseUrl });
      candidate.on('notification', wakeAll);
      candidate.on('error', (err) => {
        deps.log.warn({ err: err.message }, 'outbox LISTEN connection lost; polling until it is back');
        client = undefined;
        void candidate.end().catch(() => undefined);
        if (!closed) setTimeout(() => void connect(), 500).unref();
      });
      try {
        await candidate.connect();
        await candidate.query(`LISTEN ${OUTBOX_CHANNEL}`);
        client = candidate;
        // A row that committed before this LISTEN took effect (at start, or while the connection
        // was down) notified no one: wake the relay to read the table once now, not at the next poll.
        wakeAll();
      } catch {
        await candidate.end().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  void connect();
  return {
    wait: (ms) =>
      new Promise<void>((resolve) => {
        if (closed || unheard) {
          unheard = false;
          return resolve();
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        }
        waiting.add(done);
      }),
    async close() {
      closed = true;
      wakeAll();
      await client?.end().catch(() => undefined);
    },
  };
  // #stub
  // throw new TodoError('m2', 'listen for outbox notifications in outbox/wait-for-work.ts');
  // #endregion
}
