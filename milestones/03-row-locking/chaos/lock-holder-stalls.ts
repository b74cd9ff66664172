// A session takes the item's row lock and stalls for 3 s (a long report, a stuck migration).
// Bids must fail fast with Busy (lock_timeout), not pile up, and succeed once it lets go.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { bidInvariantViolations, openItems, postBid, scenarioEnvironment, sleep, type ChaosScenario } from '#shared/chaos.ts';
import { startServiceProcess } from '#shared/test/service-process.ts';

const LOCK_TIMEOUT_MS = 300;

export const scenario: ChaosScenario = {
  name: 'lock-holder-stalls',
  milestone: 3,
  summary: `Holds the item's row lock for 3 s while bids arrive; with lock_timeout ${LOCK_TIMEOUT_MS} ms each must fail fast with Busy, then succeed after the lock is released.`,
  async run(ctx) {
    const { database, config, cleanup } = await scenarioEnvironment(ctx, {});
    const service = await startServiceProcess({ tree: ctx.tree, entry: 'bid-service.ts', config: { ...config, bidding: { ...config.bidding, lockTimeoutMs: LOCK_TIMEOUT_MS } } });
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      const [itemId] = await openItems(database.url, 1);
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [itemId]);
      ctx.say('a session holds the item row lock');
      const during: Array<{ status: number; code?: string; ms: number }> = [];
      const stallEnds = Date.now() + 3_000;
      let amount = 1_000;
      while (Date.now() < stallEnds - 500) {
        const started = performance.now();
        const answer = await postBid(service.url, itemId!, { userId: randomUUID(), amountCents: String((amount += 1_000)) });
        during.push({ ...answer, ms: performance.now() - started });
      }
      await sleep(Math.max(0, stallEnds - Date.now()));
      await holder.query('ROLLBACK');
      ctx.say('the lock is released');
      const after: Array<{ status: number; code?: string }> = [];
      for (let i = 0; i < 10; i++) after.push(await postBid(service.url, itemId!, { userId: randomUUID(), amountCents: String((amount += 1_000)) }));
      const busy = during.filter((a) => a.code === 'unavailable').length;
      const slowest = Math.max(...during.map((a) => a.ms));
      const acceptedAfter = after.filter((a) => a.status === 201).length;
      const violations = await bidInvariantViolations(database.url, itemId!, config.bidding.minIncrementCents);
      return {
        ok: during.length > 0 && busy === during.length && acceptedAfter === after.length && violations.length === 0,
        line: `during the stall: ${during.length} bids · busy ${busy} · slowest answer ${(slowest / 1000).toFixed(2)} s (lock_timeout ${(LOCK_TIMEOUT_MS / 1000).toFixed(1)} s) · after release: ${after.length} bids · accepted ${acceptedAfter} · invariant violations ${violations.length}`,
        facts: { during: during.length, busy, slowestMs: Math.round(slowest), acceptedAfter, violations: violations.length },
      };
    } finally {
      await holder.end().catch(() => undefined);
      await service.stop('SIGTERM');
      await cleanup();
    }
  },
};
