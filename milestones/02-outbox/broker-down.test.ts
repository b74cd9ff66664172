// Milestone 2 · RabbitMQ unreachable while bids keep coming: every bid accepted, every event delivered once it is back.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { startFaultProxy } from '#testkit/fault-proxy.ts';
import { collectEvents } from '#testkit/event-collector.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, inProcessRelay, metricValue, openItem, pendingOutbox } from './fixtures.ts';

const env = useTestEnv();

describe('broker down', () => {
  it('accepts 200 bids while the relay cannot reach RabbitMQ, keeps every event, and delivers 200 distinct ones when it is back', async () => {
    const collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange });
    const proxy = await startFaultProxy({ target: env.config.amqpUrl });
    const relay = await inProcessRelay(env, { amqpUrl: proxy.url(env.config.amqpUrl), backoffMaxMs: 300, pollMs: 200 });
    try {
      proxy.refuse(true);
      proxy.cutAll();
      relay.relay.start();
      const items = await Promise.all([1, 2, 3, 4].map(() => openItem(env.db)));
      // Four bidders at once, one per item, each outbidding itself (valid under milestone 3's rules too).
      const results = await Promise.allSettled(
        items.map(async (itemId) => {
          for (let i = 1; i <= 50; i++) await placeBid(env, { itemId, userId: aBidder(), amountCents: String(1_000 * i) });
        }),
      );
      expect(
        results.filter((r) => r.status === 'rejected'),
        'bidders refused while the broker is down',
      ).toEqual([]);
      await eventually(
        () => metricValue(relay.metrics, 'auction_outbox_publish_failures_total'),
        (n) => n >= 2,
        'the relay retrying',
      );
      expect(await pendingOutbox(env.db), 'events kept in the outbox').toBe(200);
      expect(collector.messages, 'events delivered while down').toHaveLength(0);

      proxy.refuse(false);
      await collector.waitFor(200, 20_000);
      await eventually(
        () => pendingOutbox(env.db),
        (n) => n === 0,
        'the outbox drained',
      );
      const ids = new Set(collector.messages.map((m) => m.messageId));
      expect(ids.size, 'distinct events delivered').toBe(200);
      const bidIds = new Set(collector.messages.map((m) => m.event.bidId));
      expect(bidIds.size, 'distinct bids in those events').toBe(200);
    } finally {
      await relay.close();
      await proxy.close();
      await collector.close();
    }
  });
});
