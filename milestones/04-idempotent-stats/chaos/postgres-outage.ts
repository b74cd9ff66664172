// PostgreSQL unreachable for the consumers for 30 s while 2,000 events wait in their queue: ten
// times the attempts a message gets. An outage is not poison: the consumers must hold their
// messages and resume when PostgreSQL answers, dead-letter nothing, and count every event once.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeIdempotentStats, idempotentStatsFacts, idempotentStatsHeld, idempotentStatsLine, waitForIdempotentStats } from '../lib/idempotent-stats.ts';
import { consumerQueueDepths, itemsEndingSoon, throwIfUnwritten } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { createDb } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';

const ITEMS = 20;
const BIDS_PER_ITEM = 100;
const OUTAGE_MS = 30_000;

type PlaceBid = (deps: unknown, input: unknown) => Promise<unknown>;

export const scenario: ChaosScenario = {
  name: 'postgres-outage',
  milestone: 4,
  summary: `${ITEMS * BIDS_PER_ITEM} bids placed while the consumers' PostgreSQL is cut (fault proxy) for ${OUTAGE_MS / 1000} s, the relay and closer still publishing; nothing may be dead-lettered, and user_stats and the read model must equal what bids and items say once it is back.`,
  async run(ctx) {
    const env = await ctx.instance({ closer: { batchSize: 10, pollMs: 100 } });
    const config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 50 } };
    const proxy = await env.faultProxy(config.databaseUrl);
    const log = createLogger({ name: 'chaos', level: 'silent' });
    const db = env.own(createDb({ url: config.databaseUrl, log, max: 20 }), (d) => d.end(), 'pool');
    const processes: ServiceProcess[] = [];
    const todo = throwIfUnwritten(() => processes.map((p) => ['bid-worker', p]));
    // The consumers reach PostgreSQL through the proxy; the relay and the closer do not, so
    // events keep arriving in the queues during the outage.
    const consumers = await env.service('bid-worker.ts', {
      config: { ...config, databaseUrl: proxy.url(config.databaseUrl), worker: { roles: ['consumers'] } },
    });
    processes.push(consumers);
    await consumers.waitForEvent('consuming', (e) => e.consumer === 'user-stats', 15_000);
    const relay = await env.service('bid-worker.ts', { config: { ...config, worker: { roles: ['relay', 'closer'] } } });
    processes.push(relay);

    const items = await itemsEndingSoon(config.databaseUrl, ITEMS, { firstEndsInMs: 3_600_000, everyMs: 100 });
    proxy.refuse(true);
    proxy.cutAll();
    const cutAt = Date.now();
    ctx.say(`PostgreSQL cut for the consumers; placing ${ITEMS * BIDS_PER_ITEM} bids`);
    const { placeBid } = (await import(pathToFileURL(join(ctx.tree, 'src/bidding/place-bid.ts')).href)) as { placeBid: PlaceBid };
    await Promise.all(
      items.map(async (itemId) => {
        for (let i = 1; i <= BIDS_PER_ITEM; i++) await placeBid({ db, config }, { itemId, userId: randomUUID(), amountCents: String(1_000 + i * 100) });
      }),
    );
    // The auctions end now: the closer's AuctionClosed events join the backlog.
    await db.query('UPDATE items SET end_at = now() WHERE id = ANY($1::uuid[])', [items]);
    while ((await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n !== '0' && Date.now() - cutAt < OUTAGE_MS)
      await sleep(200);
    todo();
    ctx.say(`all bids published ${((Date.now() - cutAt) / 1000).toFixed(1)} s into the outage`);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
    const { queued: backlog, deadLettered: deadLetteredDuringOutage } = await consumerQueueDepths(config);
    ctx.say(`after ${OUTAGE_MS / 1000} s: ${backlog} events waiting in the queues, ${deadLetteredDuringOutage} dead-lettered; PostgreSQL back`);
    proxy.refuse(false);

    const state = await waitForIdempotentStats(config, items, { timeoutMs: 30_000, check: todo });
    describeIdempotentStats(state, ctx.say);
    const held = consumers.events('dependency-down', (e) => e.consumer === 'user-stats' && e.dependency === 'PostgreSQL').length > 0;
    return {
      ok: idempotentStatsHeld(state) && backlog >= ITEMS * BIDS_PER_ITEM - config.consumer.prefetch,
      // The consumers' own dead-letter count goes last, right before the differences.
      line: idempotentStatsLine({ ...state, deadLettered: 0 }, [
        `PostgreSQL cut ${OUTAGE_MS / 1000} s with a backlog of ${backlog}`,
        `consumer held its messages: ${held ? 'yes' : 'no'}`,
        `dead-lettered ${state.deadLettered}`,
      ]),
      facts: { ...idempotentStatsFacts(state), backlog, deadLetteredDuringOutage, held },
    };
  },
};
