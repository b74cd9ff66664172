// Milestone 5 · every migration of the rollout has a working down: each returns bids to the
// phase before it, the bids survive the round trip, and up again works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill } from '#app/backfill/backfill.ts';
import { runMigrations } from '#runtime/migrate.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { bidsSchema, CHECK, CONTRACT, EXPAND, INDEX, rolloutDatabase, VALIDATE, type RolloutDatabase } from './fixtures.ts';

const env = useTestEnv();
let rollout: RolloutDatabase;
beforeAll(async () => {
  rollout = await rolloutDatabase(env, { bids: 1_000 });
});
afterAll(() => rollout?.close());

const bidders = async () =>
  (await rollout.db.query<{ id: string; bidder: string }>(`SELECT id, to_jsonb(b) ->> 'bidder_id' AS bidder FROM bids b ORDER BY id`)).rows;

describe('the rollout’s migrations', () => {
  it('each down returns bids to the phase before it; up again reaches the same schema with the same bids', async () => {
    const { rows: before } = await rollout.db.query<{ id: string; user_id: string }>('SELECT id, user_id::text FROM bids ORDER BY id');
    const phases = [await bidsSchema(rollout.db)];
    for (const migration of [EXPAND, CHECK, VALIDATE, INDEX, CONTRACT]) {
      if (migration === CHECK) await runBackfill({ db: rollout.db, log: env.log, config: { backfill: { batchSize: 500, pauseMs: 0, lockTimeoutMs: 1_000 } } });
      expect(await rollout.migrateTo(migration), `migrating up to ${migration}`).toEqual([migration]);
      phases.push(await bidsSchema(rollout.db));
    }
    expect(new Set(phases.map((p) => p.join('\n'))).size, 'distinct schemas: milestone 4 and one per migration').toBe(6);
    const expected = before.map((b) => ({ id: b.id, bidder: b.user_id }));
    expect(await bidders(), 'bids after the contract').toEqual(expected);

    for (let step = phases.length - 1; step > 0; step--) {
      await runMigrations({ databaseUrl: rollout.url, tree: env.tree, direction: 'down', count: 1 });
      expect(await bidsSchema(rollout.db), `bids after ${step === 1 ? 'undoing the expand' : `down to phase ${step - 1}`}`).toEqual(phases[step - 1]);
    }
    const { rows: restored } = await rollout.db.query<{ id: string; user_id: string }>('SELECT id, user_id::text FROM bids ORDER BY id');
    expect(restored, 'bids after undoing all five').toEqual(before);

    await rollout.migrateTo(EXPAND);
    await runBackfill({ db: rollout.db, log: env.log, config: { backfill: { batchSize: 500, pauseMs: 0, lockTimeoutMs: 1_000 } } }, { fromStart: true });
    await rollout.migrateTo(CONTRACT);
    expect(await bidsSchema(rollout.db), 'bids after up again').toEqual(phases.at(-1));
    expect(await bidders(), 'bids after up again').toEqual(expected);
  });
});
