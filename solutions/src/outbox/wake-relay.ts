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
 * commit). pgbench on this workbook's machine, one random UPDATE per transaction: 8 clients
 * 8,100 to 8,900 tps without a NOTIFY, 4,000 with one inside the transaction; 32 clients
 * 10,700 against 3,400 (milestone 2's answer 11). On the days this machine's disk was slow it
 * was the bids' p99 under milestone 5's backfill: 49 to 66 ms.
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
