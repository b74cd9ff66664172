// Milestone 4 · a whole auction run through the worker, with the relay crashing after a publish:
// user_stats and the read model end where a query over bids and items says they must.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { readItemLive } from '#app/read-model/read-item-live.ts';
import { itemLiveFromDb } from '#app/read-model/item-live-from-db.ts';
import { queueNames } from '#runtime/queues.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess } from '#testkit/service-process.ts';
import { idempotentStatsState, statsDifferences, waitForIdempotentStats } from './lib/idempotent-stats.ts';
import { aBidder, anItem, exitOf, publisher, testRedis, throwIfTodo, whatHappened } from './fixtures.ts';

const env = useTestEnv();

describe('a full auction run', () => {
  it('bids committed before the worker starts: every one reaches user_stats (the queues are bound before the relay publishes)', async () => {
    // This file's exchange has no queue bound yet: the first worker declares them.
    const itemId = await anItem(env.db);
    const bidders = Array.from({ length: 5 }, aBidder);
    for (let i = 1; i <= 200; i++) await placeBid(env, { itemId, userId: bidders[i % bidders.length]!, amountCents: String(1_000 + i * 100) });
    // The consumer binds its queue late; a relay that publishes before then loses events.
    const worker = await startServiceProcess({
      tree: env.tree,
      entry: 'bid-worker.ts',
      config: { ...env.config, failpoints: 'user-stats.before-bind=delay(1500)' },
    });
    try {
      await eventually(
        async () => {
          throwIfTodo(worker);
          return idempotentStatsState(env.config, [itemId]);
        },
        (s) => s.unpublished === 0 && s.appliedOnce === 200,
        'all 200 events published and applied by user-stats',
        30_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${whatHappened(await idempotentStatsState(env.config, [itemId]), [worker])}`);
      });
      expect(await statsDifferences(env.config.databaseUrl), 'user_stats minus the stats computed from bids').toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it('12 items, 6 bidders, bids until the end, the relay killed after a publish: stats and read model exact', { timeout: 90_000 }, async () => {
    const publish = await publisher(env.config);
    const redis = await testRedis(env);
    const config = { ...env.config, closer: { batchSize: 5, pollMs: 100 }, outbox: { ...env.config.outbox, batchSize: 20 } };
    // Declares the queues, then dies after publishing its first batch and before marking it.
    const first = await startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config: { ...config, failpoints: 'relay.after-publish=crash@2' } });
    try {
      const items = await Promise.all(Array.from({ length: 12 }, (_, i) => anItem(env.db, `interval '${1_500 + i * 100} milliseconds'`)));
      const bidders = Array.from({ length: 6 }, aBidder);
      let amount = 1_000n;
      const stop = Date.now() + 2_800;
      await Promise.all(
        bidders.map(async (userId, b) => {
          for (let i = b; Date.now() < stop; i++) {
            amount += 50n;
            await placeBid(env, { itemId: items[i % items.length]!, userId, amountCents: amount.toString() }).catch(() => undefined);
          }
        }),
      );
      expect((await exitOf(first)).signal, 'the first worker died at the failpoint').toBe('SIGKILL');

      const second = await startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config });
      try {
        const { queue } = queueNames(env.config, 'user-stats');
        await eventually(
          async () => {
            throwIfTodo(second);
            const { rows } = await env.db.query<{ open: bigint; unpublished: bigint }>(
              `SELECT (SELECT count(*) FROM items WHERE id = ANY($1::uuid[]) AND status = 'open') AS open,
                      (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished`,
              [items],
            );
            return { ...rows[0]!, queued: await publish.depth(queue) };
          },
          (s) => s.open === 0n && s.unpublished === 0n && s.queued === 0,
          'every auction closed, every event published and consumed',
          20_000,
        );
        const state = await waitForIdempotentStats(env.config, items, { timeoutMs: 30_000, check: () => throwIfTodo(second) });
        expect(state.statsDifferences, `user_stats minus the stats computed from bids and items\n${whatHappened(state, [first, second])}`).toEqual([]);
        const { rows } = await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM bids');
        expect(rows[0]!.n, 'bids placed in the run').toBeGreaterThan(12n);
        for (const itemId of items) {
          const live = await eventually(
            () => readItemLive({ ...env, redis }, itemId),
            (l) => l.source === 'redis' && l.status === 'closed',
            `item ${itemId} closed in the read model`,
          );
          expect({ ...live, source: 'postgres' }, `item ${itemId}: read model vs PostgreSQL`).toEqual(await itemLiveFromDb(env.db, itemId));
        }
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop('SIGKILL');
      await publish.close();
      await redis.cleanUp();
    }
  });
});
