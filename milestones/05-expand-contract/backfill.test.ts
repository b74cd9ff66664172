// Milestone 5 · the backfill: killed midway it resumes after the last batch that committed,
// skips nothing, fills nothing twice; a batch that meets a row lock gives up and is retried.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill } from '#app/backfill/backfill.ts';
import { fillBidderBatch, START } from '#app/backfill/fill-bidder-batch.ts';
import { withTransaction } from '#runtime/db.ts';
import { clearFailpoints, setFailpoint } from '#runtime/failpoints.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { EXPAND, rolloutDatabase, wrongBidderIds, type RolloutDatabase } from './fixtures.ts';

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
      await new Promise((resolve) => setTimeout(resolve, 500));
      await holder.query('COMMIT');
      const result = await running;
      expect(result.retries, 'batches given up on the lock and run again').toBeGreaterThan(0);
      expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
  });

  it('yields to the traffic: batches that run slower than their quiet pace make it pause longer, and it speeds up again once they are back', async () => {
    await rollout.db.query('UPDATE bids SET bidder_id = NULL');
    await rollout.db.query('DELETE FROM backfill_checkpoints');
    // Now, not mid-run: an autovacuum of the rows just updated would slow batches for real.
    await rollout.db.query('VACUUM bids');
    // Batches 4 to 7 take 300 ms longer, as they would on a database busy with bids.
    const steps: Array<{ batch: number; pauseMs: number; pace: number; yielded: number }> = [];
    const result = await runBackfill(
      { db: rollout.db, log: env.log, config: { backfill: { batchSize: 1_000, pauseMs: 10, lockTimeoutMs: 1_000 } } },
      {
        onProgress: (p) => {
          steps.push({ batch: steps.length + 1, pauseMs: Math.round(p.pauseMs), pace: Math.round(p.pace * 10) / 10, yielded: p.yielded });
          if (steps.length === 3) setFailpoint('backfill.in-batch', 'delay(300)');
          if (steps.length === 7) clearFailpoints();
        },
      },
    );
    // From the second slow batch on: one slow batch alone may be noise.
    const slow = steps.filter((s) => s.batch >= 5 && s.batch <= 7);
    expect(
      slow.map((s) => s.pauseMs >= 300),
      `pauses after the slow batches 5 to 7 (each batch's progress.pauseMs): two batches in a row far slower than the fastest recent one mean the database is busy, and the backfill waits at least as long as the slowdown cost before its next batch. Pauses: ${JSON.stringify(steps)}`,
    ).toEqual([true, true, true]);
    expect(result.yielded, 'batches that made the backfill yield').toBeGreaterThanOrEqual(3);
    // The shortest, not the last: a batch may still run slow for a reason of its own (the machine is shared).
    const after = Math.min(...steps.filter((s) => s.batch >= 9).map((s) => s.pauseMs));
    expect(after, `the shortest pause after batches 9 to 12, back at their pace (pauses: ${JSON.stringify(steps)})`).toBeLessThan(
      Math.max(...slow.map((s) => s.pauseMs)) / 4,
    );
    expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
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
