// Milestone 5 · DDL behind a long transaction: with a lock_timeout it gives up instead of
// holding every bid in the lock queue behind it, and a retry succeeds once the lock is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationFailed } from '#runtime/migrate.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, EXPAND, openItem, rolloutDatabase, type RolloutDatabase } from './fixtures.ts';

const env = useTestEnv();
let rollout: RolloutDatabase;
beforeAll(async () => {
  rollout = await rolloutDatabase(env);
});
afterAll(() => rollout?.close());

describe('a migration meeting a long transaction', () => {
  it('fails fast with 55P03 while bids go on, and succeeds on a retry once the transaction ends', async () => {
    const oldVersion = rollout.app('user-id');
    // This bid may wait behind the ALTER for as long as the ALTER waits: let it outlast that.
    const patient = { ...oldVersion.config, bidding: { ...oldVersion.config.bidding, lockTimeoutMs: 10_000 } };
    const { placeBid } = await import('#app/bidding/place-bid.ts');
    const itemId = await openItem(rollout.db);
    const long = await rollout.db.connect();
    try {
      // A report reading bids in a transaction it has not ended: it holds ACCESS SHARE on bids.
      await long.query('BEGIN');
      await long.query('SELECT count(*) FROM bids');
      const migration = rollout.migrateTo(EXPAND, { attempts: 1 }).then(
        () => 'migrated',
        (err: unknown) => err,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const bid = await placeBid({ db: rollout.db, config: patient }, { itemId, userId: aBidder(), amountCents: '100' }).then(
        () => 'accepted',
        (err: Error) => `refused: ${err.message}`,
      );
      const failed = await migration;
      expect(failed, 'the migration, while the long transaction holds its lock').toBeInstanceOf(MigrationFailed);
      expect((failed as MigrationFailed).cause, 'why it failed').toMatchObject({ code: '55P03' });
      expect(bid, 'a bid placed while the migration waited, the long transaction still open').toBe('accepted');

      let retries = 0;
      let settled = false;
      const retried = rollout.migrateTo(EXPAND, { attempts: 10, onRetry: () => void retries++ }).finally(() => (settled = true));
      while (retries === 0 && !settled) await new Promise((resolve) => setTimeout(resolve, 50));
      await long.query('COMMIT');
      expect(await retried, 'the migration, retried').toEqual([EXPAND]);
      expect(retries, 'attempts that gave up before the transaction ended').toBeGreaterThan(0);
    } finally {
      await long.query('ROLLBACK').catch(() => undefined);
      long.release();
    }
  });
});
