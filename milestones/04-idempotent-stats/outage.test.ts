// Milestone 4 · PostgreSQL down for longer than a message's attempts last: an outage is not poison.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '#runtime/db.ts';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, bidPlaced, inProcessConsumers, usePublisher, statsOf } from './fixtures.ts';

const env = useTestEnv();
const published = usePublisher(env);
let proxy: FaultProxy;
let proxiedDb: Db;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: env.config.databaseUrl });
  proxiedDb = createDb({ url: proxy.url(env.config.databaseUrl), log: env.log });
});
afterAll(async () => {
  await proxiedDb?.end();
  await proxy?.close();
});

describe('the stats consumer while PostgreSQL is down', () => {
  it('holds its messages, takes no more than its prefetch, and applies every one once when PostgreSQL is back: nothing dead-lettered', async () => {
    // Three attempts 50 ms and 100 ms apart: a budget of 150 ms, which the outage outlasts many times.
    const consumers = await inProcessConsumers(env, { db: proxiedDb, config: { maxAttempts: 3, retryDelayMs: 50, prefetch: 10, batchSize: 10 } });
    try {
      const bidders = Array.from({ length: 4 }, aBidder);
      proxy.refuse(true);
      proxy.cutAll();
      for (let i = 0; i < 40; i++) await published.current.bid(bidPlaced({ userId: bidders[i % bidders.length]! }));
      await new Promise((r) => setTimeout(r, 2_000));

      expect(await consumers.handled('dead_lettered'), 'messages dead-lettered while PostgreSQL was down').toBe(0);
      expect(await consumers.depth(), 'messages left in the queue: the consumer holds its prefetch (10) and takes no more').toBe(30);

      proxy.refuse(false);
      await eventually(
        () => consumers.handled('applied'),
        (n) => n === 40,
        'messages applied once PostgreSQL is back',
        20_000,
      );
      for (const bidder of bidders) expect((await statsOf(env.db, bidder))?.bids_placed, `bids counted for ${bidder}`).toBe(10n);
      expect(await published.current.depth(consumers.consumers[0]!.deadLetterQueue), 'messages in the dead-letter queue').toBe(0);
      expect(await consumers.handled('retried'), 'attempts counted against messages that were never at fault').toBe(0);
    } finally {
      proxy.refuse(false);
      await consumers.close();
    }
  });
});
