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
  const waiting = new Set<() => void>();
  // Every notification counts one, and each loop's signal remembers how many it had heard when
  // its last wait() ended. One that came while that loop was busy reading the table (a read
  // which began before that row committed) makes its next wait() return at once instead of
  // sleeping through it until the poll. One flag for all the loops would not do: the NOTIFY
  // that wakes a waiting loop must still reach a loop that was busy, whose partition the row
  // may be in.
  let notifications = 0;
  const wakeAll = () => {
    notifications++;
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
    signal() {
      // What came before the loop's first read of the table, that read finds.
      let heard = notifications;
      return {
        wait: (ms) =>
          new Promise<void>((resolve) => {
            if (closed || heard < notifications) {
              heard = notifications;
              return resolve();
            }
            const timer = setTimeout(done, ms);
            function done() {
              clearTimeout(timer);
              waiting.delete(done);
              heard = notifications;
              resolve();
            }
            waiting.add(done);
          }),
      };
    },
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
