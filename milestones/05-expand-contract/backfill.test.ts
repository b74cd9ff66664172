// Milestone 5 · the backfill: killed midway it resumes after the last batch that committed,
// skips nothing, fills nothing twice; a batch that meets a row lock gives up and is retried;
// while other sessions use the database it runs shorter batches and pauses longer.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill } from '#app/backfill/backfill.ts';
import { fillBidderBatch, START } from '#app/backfill/fill-bidder-batch.ts';
import { TRAFFIC_WINDOW_MS } from '#app/backfill/throttle.ts';
import { placeBid } from '#app/bidding/place-bid.ts';
import type { Config } from '#runtime/config.ts';
import { createDb, withTransaction } from '#runtime/db.ts';
import { clearFailpoints, setFailpoint } from '#runtime/failpoints.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { lockWaiters } from '#testkit/lock-waiters.ts';
import { aBidder, EXPAND, openItem, rolloutDatabase, wrongBidderIds, type RolloutDatabase } from './fixtures.ts';

const env = useTestEnv();
let rollout: RolloutDatabase;
beforeAll(async () => {
  rollout = await rolloutDatabase(env, { bids: 12_000 });
  await rollout.migrateTo(EXPAND);
});
afterAll(() => rollout?.close());
afterEach(() => clearFailpoints());

const backfill = (config: { batchSize?: number; lockTimeoutMs?: number } = {}) =>
  runBackfill({ db: rollout.db, log: env.log, config: { backfill: { batchSize: 1_000, pauseMs: 0, lockTimeoutMs: 1_000, ...config } } });

async function checkpoint() {
  const { rows } = await rollout.db.query<{ last_id: string; rows_filled: bigint }>('SELECT last_id, rows_filled FROM backfill_checkpoints');
  return rows[0];
}

describe('backfill', () => {
  it('dies after its 4th batch, and the rerun resumes after it: every row filled, none skipped, none filled twice', async () => {
    setFailpoint('backfill.after-batch', 'error@4');
    await expect(backfill(), 'the first run, stopped by the failpoint').rejects.toThrow(/failpoint "backfill.after-batch" fired/);
    clearFailpoints();
    const stoppedAt = await checkpoint();
    expect(stoppedAt?.rows_filled, 'rows the checkpoint says were filled before the crash').toBe(4_000n);
    expect(await wrongBidderIds(rollout.db), 'rows left to fill').toBe(8_000);

    const rerun = await backfill();
    expect({ resumedAfter: rerun.resumedAfter, scanned: rerun.scanned, filled: rerun.filled }, 'the rerun').toEqual({
      resumedAfter: stoppedAt!.last_id,
      scanned: 8_000,
      filled: 8_000,
    });
    expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
    expect((await checkpoint())?.rows_filled, 'rows filled, over both runs').toBe(12_000n);

    const again = await backfill();
    expect({ scanned: again.scanned, filled: again.filled }, 'a third run, after the end').toEqual({ scanned: 0, filled: 0 });
  });

  it('a batch that meets a locked row gives up after its lock_timeout and is retried once the lock is gone', async () => {
    await rollout.db.query('UPDATE bids SET bidder_id = NULL');
    await rollout.db.query('DELETE FROM backfill_checkpoints');
    const holder = await rollout.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM bids ORDER BY id LIMIT 1 FOR UPDATE');
      const running = backfill({ lockTimeoutMs: 100 });
      running.catch(() => undefined); // awaited below
      // Hold the lock until the backfill has given up on it at least once: seen waiting for it,
      // then no longer in that statement while the lock is still held (its lock_timeout ended
      // it). A fixed 500 ms hold missed it once on a loaded machine: no batch had reached the row yet.
      const waiters = () => lockWaiters(rollout.db);
      const [waiting] = await Promise.race([
        eventually(waiters, (w) => w.length > 0, 'a backfill batch waiting for the locked row'),
        running.then(() => Promise.reject(new Error('the backfill finished while a row it must fill was locked'))),
      ]);
      await eventually(
        waiters,
        (w) => !w.some((x) => x.pid === waiting!.pid && x.started === waiting!.started),
        'the backfill giving up on the locked row (its lock_timeout, 100 ms)',
      );
      await holder.query('COMMIT');
      const result = await running;
      expect(result.retries, 'batches given up on the lock and run again').toBeGreaterThan(0);
      expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  });

  it('yields to the traffic: while other sessions bid it runs shorter batches with pauses as long as each batch, and its own pace again once they stop', async () => {
    await rollout.db.query('UPDATE bids SET bidder_id = NULL');
    await rollout.db.query('DELETE FROM backfill_checkpoints');
    // Now, not mid-run: an autovacuum of the rows just updated would slow batches for real.
    await rollout.db.query('VACUUM bids');
    // Bids from a pool of their own, its connection opened now so the first bid goes out the moment they start.
    const bidderDb = createDb({ url: rollout.url, log: env.log, max: 1, applicationName: 'bidder' });
    await bidderDb.query('SELECT 1');
    const config: Config = { ...rollout.config, bidding: { ...rollout.config.bidding, bidderPhase: 'dual-write' } };
    const item = await openItem(rollout.db);
    // The setup's own queries are traffic too, for TRAFFIC_WINDOW_MS: let them age out first.
    await new Promise((resolve) => setTimeout(resolve, TRAFFIC_WINDOW_MS + 300));
    let bidding = false;
    let bids = 0;
    const bidLoop = async () => {
      for (let amount = 1_000n; bidding; amount += config.bidding.minIncrementCents) {
        await placeBid({ db: bidderDb, config }, { itemId: item, userId: aBidder(), amountCents: amount.toString() });
        bids++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    let loop: Promise<void> = Promise.resolve();
    const steps: Array<{ batch: number; batchMs: number; pauseMs: number; batchSize: number; traffic: number; yielded: number }> = [];
    try {
      const result = await runBackfill(
        { db: rollout.db, log: env.log, config: { backfill: { batchSize: 1_000, pauseMs: 10, lockTimeoutMs: 1_000 } } },
        {
          onProgress: (p) => {
            steps.push({
              batch: steps.length + 1,
              batchMs: Math.round(p.batchMs),
              pauseMs: Math.round(p.pauseMs),
              batchSize: p.batchSize,
              traffic: p.traffic,
              yielded: p.yielded,
            });
            if (steps.length === 3) {
              bidding = true;
              loop = bidLoop();
            }
            if (steps.length === 7) {
              bidding = false;
              // Longer than the window a session counts as traffic for (throttle.ts), before batch 8.
              setFailpoint('backfill.after-batch', `delay(${TRAFFIC_WINDOW_MS + 300})@1`);
            }
          },
        },
      );
      const show = JSON.stringify(steps);
      expect(
        steps.slice(0, 3).map((s) => s.yielded),
        `yields after batches 1 to 3, with no one else in the database (steps: ${show})`,
      ).toEqual([0, 0, 0]);
      // From the 5th: the bids start after the 3rd, and the first may still be connecting while the 4th runs.
      const busy = steps.filter((s) => s.batch >= 5 && s.batch <= 7);
      expect(
        busy.map((s) => ({ sawTheBids: s.traffic > 0, pausedAsLongAsTheBatch: s.pauseMs >= s.batchMs, shorterBatches: s.batchSize < 1_000 })),
        `batches 5 to 7 ran while another session placed bids (${bids} of them): each should see it (progress.traffic, from pg_stat_activity), be followed by a pause at least as long as itself and make the next batch shorter (steps: ${show})`,
      ).toEqual(busy.map(() => ({ sawTheBids: true, pausedAsLongAsTheBatch: true, shorterBatches: true })));
      const after = steps.filter((s) => s.batch >= 8);
      expect(
        after.map((s) => ({ pauseMs: s.pauseMs, batchSize: s.batchSize })).slice(0, -1),
        `from batch 8 on, the bids stopped more than a second ago: the configured pause and size again (steps: ${show})`,
      ).toEqual(after.slice(0, -1).map(() => ({ pauseMs: 10, batchSize: 1_000 })));
      expect(result.yielded, 'batches that made the backfill yield').toBeGreaterThanOrEqual(3);
      expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
    } finally {
      bidding = false;
      await loop;
      await bidderDb.end();
    }
  });

  it('a late batch reads about as many rows as the first: each batch starts after the last id, so the backfill stays linear', async () => {
    await rollout.db.query('UPDATE bids SET bidder_id = NULL');
    await rollout.db.query('DELETE FROM backfill_checkpoints');
    // Rows of bids and its indexes this transaction has read so far (PostgreSQL's own counters).
    const rowsRead = async (tx: { query: typeof rollout.db.query }) =>
      Number(
        (
          await tx.query<{ n: string }>(
            `SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(c.oid)), 0) AS n FROM pg_class c
              WHERE c.oid = 'bids'::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'bids'::regclass)`,
          )
        ).rows[0]!.n,
      );
    const reads: number[] = [];
    let afterId = START;
    for (let i = 0; i < 30; i++) {
      const batch = await withTransaction(rollout.db, async (tx) => {
        const before = await rowsRead(tx as never);
        const result = await fillBidderBatch(tx, afterId, 500);
        reads.push((await rowsRead(tx as never)) - before);
        return result;
      });
      if (batch.lastId === null) break;
      afterId = batch.lastId;
    }
    expect(reads.length, 'batches of 500 over 12,000 bids').toBeGreaterThanOrEqual(24);
    const [first, late] = [reads[0]!, reads[23]!];
    expect(
      { first, late, aboutTheSame: late <= first * 1.5 + 100 },
      'rows of bids the 1st and the 24th batch read: a batch that finds its start with OFFSET reads every row before it again, so late batches cost more and more; start each batch after the last id of the previous one (WHERE id > $1 ORDER BY id LIMIT n)',
    ).toMatchObject({ aboutTheSame: true });
    expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
  });
});
