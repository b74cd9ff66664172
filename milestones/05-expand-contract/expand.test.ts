// Milestone 5 · expand and backfill while both app versions take bids: the old one writes only
// user_id, the new one writes both; when the backfill is done every row has the right bidder_id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill } from '#app/backfill/backfill.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, EXPAND, openItem, rolloutDatabase, wrongBidderIds, type RolloutDatabase } from './fixtures.ts';
import { coerceError } from '#runtime/coerce-error.ts';

const env = useTestEnv();
let rollout: RolloutDatabase;
// Enough that bids of both versions land while the backfill runs. With four bidders in the
// database the throttle (backfill/throttle.ts) runs batches of BUSY_BATCH_FRACTION of BATCH_SIZE
// with pauses as long as each batch: 20,000 rows kept this test at 22 s of the milestone's 24,
// and batches of 50 rows (1,000 configured) at 13.5 s of 20. Batches of 200 rows here: the
// throttle's pace is backfill.test.ts's to check; this test checks what the rows end up holding.
const SEEDED = 5_000;
const BATCH_SIZE = 4_000;
beforeAll(async () => {
  rollout = await rolloutDatabase(env, { bids: SEEDED });
});
afterAll(() => rollout?.close());

describe('expand, then backfill, with old and new versions bidding', () => {
  it('every bid of either version is accepted, and afterwards every row’s bidder_id is its user_id', async () => {
    const oldVersion = rollout.app('user-id');
    const newVersion = rollout.app('dual-write');
    const failures: string[] = [];
    const accepted = { old: 0, new: 0, duringBackfill: 0 };
    let backfilling = false;
    let stop = false;
    // Each bidder bids on its own item, waiting for each answer: any refusal is a failure.
    const bidder = async (version: typeof oldVersion, name: 'old' | 'new') => {
      const itemId = await openItem(rollout.db);
      for (let amount = 100; !stop; amount += 100) {
        try {
          await version.place({ itemId, userId: aBidder(), amountCents: String(amount) });
          accepted[name]++;
          if (backfilling) accepted.duringBackfill++;
        } catch (err) {
          failures.push(`${name} version: ${coerceError(err).message}`);
          if (failures.length >= 20) stop = true;
        }
      }
    };
    const oldBidders = [bidder(oldVersion, 'old'), bidder(oldVersion, 'old')];
    const newBidders: Array<Promise<void>> = [];
    let result;
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The expand runs under the old version's traffic; the new version is deployed after it.
      await rollout.migrateTo(EXPAND);
      newBidders.push(bidder(newVersion, 'new'), bidder(newVersion, 'new'));
      backfilling = true;
      result = await runBackfill({ db: rollout.db, log: env.log, config: { backfill: { batchSize: BATCH_SIZE, pauseMs: 5, lockTimeoutMs: 1_000 } } });
      backfilling = false;
    } finally {
      stop = true;
      await Promise.all([...oldBidders, ...newBidders]);
    }

    expect(failures, 'bids refused').toEqual([]);
    expect(accepted.old, 'bids accepted from the old version').toBeGreaterThan(0);
    expect(accepted.new, 'bids accepted from the new version').toBeGreaterThan(0);
    expect(accepted.duringBackfill, 'bids accepted while the backfill ran').toBeGreaterThan(0);
    expect(result.filled, 'rows the backfill filled (the seeded ones; the trigger and the new version filled the rest)').toBeGreaterThanOrEqual(SEEDED);
    expect(await wrongBidderIds(rollout.db), 'rows whose bidder_id is not their user_id').toBe(0);
  });
});
