import type { Db } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { OUTBOX_CHANNEL } from './outbox-event.ts';

/** One doorbell per pool: whether a NOTIFY is on its way, and whether a commit came after it left. */
interface Doorbell {
  ringing: boolean;
  again: boolean;
}

const doorbells = new WeakMap<Db, Doorbell>();

/**
 * Wakes the outbox relay: call it after the COMMIT of a transaction that wrote outbox rows,
 * never inside that transaction. Returns at once; the NOTIFY goes out on a pooled connection,
 * in a transaction of its own.
 *
 * Why not NOTIFY in the transaction that writes the row (what this workbook did until the
 * migration benchmark showed the cost): PostgreSQL serializes the commits of all transactions
 * that queued a notification with one lock for the whole server, taken at commit and held
 * until the commit is done, WAL flush included (async.c, PreCommit_Notify). Every bid then
 * waited for the bids ahead of it to flush one by one, instead of sharing one flush (group
 * commit). With a backfill writing WAL beside 200 bids/s that was the bids' p99: 49 to 66 ms
 * with the NOTIFY in the bid's transaction, 8 ms without it (`npm run bench -- migration`).
 *
 * The NOTIFY here still takes that lock, but holds it only for a commit that flushes nothing: a
 * transaction that wrote no row does not wait for its commit record to reach the disk (xact.c,
 * RecordTransactionCommit; pg_stat_wal counted 1 WAL sync for 500 such NOTIFYs on this machine).
 * And it coalesces: while one NOTIFY is on its way,
 * the commits that call this in the meantime share one more, sent when it returns, so a
 * thousand bids a second send far fewer than a thousand. That one more is needed: the relay
 * may have read the table, woken by the first, before their rows committed.
 *
 * A failure is not reported: the relay's poll finds the row anyway (OUTBOX_POLL_MS later),
 * which is what it is for; and the pool may have been closed by a process shutting down.
 */
export function wakeRelay(db: Db): void {
  let bell = doorbells.get(db);
  if (!bell) doorbells.set(db, (bell = { ringing: false, again: false }));
  if (bell.ringing) {
    bell.again = true;
    return;
  }
  bell.ringing = true;
  void ring(db, bell);
}

async function ring(db: Db, bell: Doorbell): Promise<void> {
  try {
    do {
      bell.again = false;
      // Tests hold the wake-up here to see that the bid's own transaction notified no one.
      await failpoint('outbox.before-wake');
      await db.query(`SELECT pg_notify($1::text, '')`, [OUTBOX_CHANNEL]);
    } while (bell.again);
  } catch {
    // The poll is the fallback (above); the next commit rings again.
  } finally {
    bell.ringing = false;
  }
}
