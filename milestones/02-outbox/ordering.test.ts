// Milestone 2 · two relays running at once, and each item's events still arrive in commit order.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { collectEvents } from '#testkit/event-collector.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess } from '#testkit/service-process.ts';
import { aBidder, openItem, pendingOutbox } from './fixtures.ts';

const env = useTestEnv();

describe('ordering', () => {
  it('two bid-workers, 5 items, 100 bids: every event once, each item’s sequence strictly increasing as consumed', async () => {
    const collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange });
    // Batches of 5: a backlog of a few rows is split into batches that two relays without the
    // partition's leader lock would claim side by side (SKIP LOCKED) and publish at once.
    const config = { ...env.config, outbox: { ...env.config.outbox, batchSize: 5, pollMs: 50 } };
    const workers = await Promise.all([1, 2].map(() => startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config })));
    try {
      const items = await Promise.all([1, 2, 3, 4, 5].map(() => openItem(env.db)));
      // Five bidders at once, one per item, so commits of different items interleave while
      // the relays race for rows; each bidder outbids itself (valid under milestone 3's rules too).
      await Promise.all(
        items.map(async (itemId) => {
          for (let i = 1; i <= 20; i++) await placeBid(env, { itemId, userId: aBidder(), amountCents: String(1_000 * i) });
        }),
      );
      await collector.waitFor(100, 30_000);
      await eventually(
        () => pendingOutbox(env.db),
        (n) => n === 0,
        'the outbox drained',
      );
      expect(new Set(collector.messages.map((m) => m.messageId)).size, 'distinct events').toBe(100);
      for (const itemId of items) {
        const sequences = collector.messages.filter((m) => m.event.itemId === itemId).map((m) => Number(m.event.sequence));
        expect(sequences, `sequence of item ${itemId.slice(0, 8)} as consumed`).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await collector.close();
    }
  });
});
