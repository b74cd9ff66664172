// Milestone 5 · constrain: VALIDATE refuses a table with a row the backfill missed and says how
// to fix it; a failed concurrent index build leaves an INVALID index that the migration repairs.
import { afterEach, describe, expect, it } from 'vitest';
import { runBackfill } from '#app/backfill/backfill.ts';
import { invalidIndexes, MigrationFailed } from '#shared/migrate.ts';
import { useTestEnv } from '#shared/test/harness.ts';
import { aBidder, bidsSchema, CHECK, EXPAND, INDEX, openItem, rolloutDatabase, VALIDATE, type RolloutDatabase } from './fixtures.ts';

const env = useTestEnv();
let rollout: RolloutDatabase | undefined;
afterEach(async () => {
  await rollout?.close();
  rollout = undefined;
});

const backfillConfig = { backfill: { batchSize: 500, pauseMs: 0, lockTimeoutMs: 1_000 } };

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
    expect(schema.filter((line) => line.startsWith('constraint bids_bidder_id_not_null')), 'the check, once NOT NULL holds').toEqual([]);
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
});
