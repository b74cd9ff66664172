// Milestone 5 · constrain: VALIDATE refuses a table with a row the backfill missed and says how
// to fix it; a failed concurrent index build leaves an INVALID index that the migration repairs.
import { afterEach, describe, expect, it } from 'vitest';
import { runBackfill } from '#app/backfill/backfill.ts';
import { invalidIndexes, MigrationFailed } from '#runtime/migrate.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { lockWaiters } from '#testkit/lock-waiters.ts';
import { loadNote, patient } from '#testkit/patience.ts';
import { aBidder, bidsSchema, CHECK, EXPAND, INDEX, openItem, rolloutDatabase, VALIDATE, type RolloutDatabase } from './fixtures.ts';

const env = useTestEnv();
let rollout: RolloutDatabase | undefined;
afterEach(async () => {
  await rollout?.close();
  rollout = undefined;
});

const backfillConfig = { backfill: { batchSize: 500, pauseMs: 0, lockTimeoutMs: 1_000 } };

/**
 * Holds `lock` on bids in another session, starts `migration`, and once its session waits for a
 * lock, places a bid: how the bid ended, how long it took, and whether it was held back (its
 * insert queued for a lock on bids, or the migration gave up a lock wait first). Then lets the migration finish.
 */
async function bidWhileMigrating(r: RolloutDatabase, lock: 'ROW EXCLUSIVE' | 'SHARE UPDATE EXCLUSIVE', migration: string) {
  const itemId = await openItem(r.db);
  const holder = await r.db.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE bids IN ${lock} MODE`);
    let gaveUp = false;
    const migrated = r.migrateTo(migration, { onRetry: () => void (gaveUp = true) }).then(
      (done) => done,
      (err: unknown) => err,
    );
    // The migration is under way once its session waits for a lock (the holder's, or a writer it must outwait).
    let migrationEnded = false;
    void migrated.finally(() => (migrationEnded = true));
    const deadline = Date.now() + patient(5_000);
    for (;;) {
      if ((await lockWaiters(r.db, { queryLike: ['%ALTER TABLE%', '%CREATE%INDEX%'] })).length > 0) break;
      if (migrationEnded)
        throw new Error(
          `the migration ${migration} ended without ever waiting for the session holding ${lock} on bids (${String(await migrated)}): it takes no lock on bids, so it does not do its work yet`,
        );
      if (Date.now() > deadline)
        throw new Error(`the migration ${migration} did not start waiting for the session holding ${lock} on bids within ${patient(5_000)} ms (${loadNote()})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const started = performance.now();
    let settled = false;
    const placing = r
      .app('user-id')
      .place({ itemId, userId: aBidder(), amountCents: '100' })
      .then(
        () => 'accepted',
        (err: Error) => `refused: ${err.message}`,
      )
      .finally(() => (settled = true));
    // Watch the bid while it runs: does it ever wait for a lock on bids (queued behind the migration's)? Any session but the migration's.
    let waitedForLock = false;
    while (!settled && !waitedForLock) {
      const { rows } = await r.db.query<{ n: bigint }>(
        `SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.relation = 'bids'::regclass AND a.query NOT ILIKE '%ALTER TABLE%' AND a.query NOT ILIKE '%CREATE%INDEX%'`,
      );
      waitedForLock = rows[0]!.n > 0n;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const bid = await placing;
    const ms = Math.round(performance.now() - started);
    const blocked = waitedForLock || gaveUp;
    await holder.query('COMMIT');
    return { bid, ms, blocked, migrated: await migrated };
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    holder.release();
  }
}

/**
 * Whether the bid went through without waiting for the migration. A bid the migration's lock
 * holds back waits in the lock queue until the migration gives up (its lock_timeout, 2 s): that,
 * seen in pg_locks, not a number of milliseconds, tells a blocked write from a slow machine.
 */
const wentThrough = ({ bid, ms, blocked }: { bid: string; ms: number; blocked: boolean }) => ({
  bid,
  withoutWaitingForTheMigration: blocked ? `no: its insert waited for a lock on bids behind the migration (${ms} ms in all)` : true,
});

describe('constrain', () => {
  it('VALIDATE refuses a row left without bidder_id, naming the constraint and the fix; after a full backfill it passes and the column is NOT NULL', async () => {
    rollout = await rolloutDatabase(env, { bids: 2_000 });
    await rollout.migrateTo(EXPAND);
    await runBackfill({ db: rollout.db, log: env.log, config: backfillConfig });
    // A row the backfill missed: written around the trigger, before the checkpoint.
    await rollout.db.query('UPDATE bids SET bidder_id = NULL WHERE id = (SELECT id FROM bids ORDER BY id LIMIT 1)');
    await rollout.migrateTo(CHECK);

    const failed = await rollout.migrateTo(VALIDATE).catch((err: unknown) => err);
    expect(failed, 'the validate migration').toBeInstanceOf(MigrationFailed);
    expect((failed as MigrationFailed).message, 'what the learner reads').toMatch(/bids_bidder_id_not_null/);
    expect((failed as MigrationFailed).next, 'what to do next').toMatch(/npm run backfill -- --from-start/);
    expect(await bidsSchema(rollout.db), 'bids after the refusal').toContain('column bidder_id text');

    const again = await runBackfill({ db: rollout.db, log: env.log, config: backfillConfig }, { fromStart: true });
    expect(again.filled, 'rows the full rerun filled').toBe(1);
    await rollout.migrateTo(VALIDATE);
    const schema = await bidsSchema(rollout.db);
    expect(schema, 'bids after VALIDATE and SET NOT NULL').toContain('column bidder_id text not null');
    expect(
      schema.filter((line) => line.startsWith('constraint bids_bidder_id_not_null')),
      'the check, once NOT NULL holds',
    ).toEqual([]);
  });

  it('a CREATE UNIQUE INDEX CONCURRENTLY that fails leaves an INVALID index; the error says so, and the migration rebuilds it once the duplicate is gone', async () => {
    rollout = await rolloutDatabase(env);
    await rollout.migrateTo(VALIDATE);
    const oldVersion = rollout.app('user-id');
    const itemId = await openItem(rollout.db);
    const [alice, bob] = [aBidder(), aBidder()];
    await oldVersion.place({ itemId, userId: alice, amountCents: '100', requestId: 'r-1' });
    const second = await oldVersion.place({ itemId, userId: bob, amountCents: '200', requestId: 'r-1' });
    // Two rows with one (bidder_id, request_id): the unique build fails on them.
    await rollout.db.query('UPDATE bids SET bidder_id = $1 WHERE id = $2', [alice, second.id]);

    const failed = await rollout.migrateTo(INDEX).catch((err: unknown) => err);
    expect(failed, 'the index migration').toBeInstanceOf(MigrationFailed);
    expect((failed as MigrationFailed).next, 'what the learner reads next').toMatch(/INVALID index.*bids_bidder_request_unique/);
    expect(await invalidIndexes(rollout.url), 'indexes left INVALID').toEqual(['bids_bidder_request_unique']);

    await rollout.db.query('UPDATE bids SET bidder_id = $1 WHERE id = $2', [bob, second.id]);
    await rollout.migrateTo(INDEX);
    expect(await invalidIndexes(rollout.url), 'indexes left INVALID after the rerun').toEqual([]);
    expect(await bidsSchema(rollout.db), 'bids after the rerun').toContain('index bids_bidder_request_unique');
  });

  it('validates without blocking writes: a bid placed while the migration waits its turn goes through before the migration gives up', async () => {
    rollout = await rolloutDatabase(env);
    await rollout.migrateTo(CHECK);
    // A session holding SHARE UPDATE EXCLUSIVE (as a VACUUM or another VALIDATE does) keeps the migration at its first lock.
    const outcome = await bidWhileMigrating(rollout, 'SHARE UPDATE EXCLUSIVE', VALIDATE);
    expect(
      wentThrough(outcome),
      'a bid placed while the validate migration waits for its first lock: VALIDATE CONSTRAINT first (SHARE UPDATE EXCLUSIVE, bids go on), then SET NOT NULL, which finds the valid check and skips its scan. SET NOT NULL first takes ACCESS EXCLUSIVE and blocks every bid for the whole scan',
    ).toEqual({ bid: 'accepted', withoutWaitingForTheMigration: true });
    const { migrated } = outcome;
    expect(migrated, 'the validate migration, once the other session let go').toEqual([VALIDATE]);
    expect(await bidsSchema(rollout.db), 'bids after it').toContain('column bidder_id text not null');
  });

  it('builds the unique index without blocking writes: a bid placed while the build waits for a writer goes through before the build gives up', async () => {
    rollout = await rolloutDatabase(env);
    await rollout.migrateTo(VALIDATE);
    // A writer in the middle of its transaction: an index build of either kind has to wait for it.
    const outcome = await bidWhileMigrating(rollout, 'ROW EXCLUSIVE', INDEX);
    expect(
      wentThrough(outcome),
      'a bid placed while the unique index is being built: CREATE INDEX without CONCURRENTLY takes a SHARE lock on bids, which blocks every insert until the build ends; build it CONCURRENTLY',
    ).toEqual({ bid: 'accepted', withoutWaitingForTheMigration: true });
    const { migrated } = outcome;
    expect(migrated, 'the index migration, once the writer committed').toEqual([INDEX]);
    expect(await bidsSchema(rollout.db), 'bids after the build').toContain('index bids_bidder_request_unique');
  });
});
