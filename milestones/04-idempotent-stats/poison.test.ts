// Milestone 4 · messages that can never be applied, and messages that fail for a while.
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { DELIVERY_LIMIT } from '#app/consumers/consumer-queues.ts';
import { AUCTION_CLOSED_ROUTING_KEY, auctionClosedToProto } from '#runtime/events/auction-closed.ts';
import { BID_PLACED, BID_PLACED_ROUTING_KEY } from '#runtime/events/bid-placed.ts';
import { clearFailpoints, setFailpoint } from '#runtime/failpoints.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, auctionClosed, inProcessConsumers, usePublisher, statsOf } from './fixtures.ts';

const env = useTestEnv();
const published = usePublisher(env);

describe('the stats consumer', () => {
  it('dead-letters a message it cannot decode, with the reason, and keeps consuming', async () => {
    const consumers = await inProcessConsumers(env);
    try {
      const winner = aBidder();
      const good = auctionClosed({ winnerId: winner, finalPriceCents: 900n });
      await published.current.raw(BID_PLACED_ROUTING_KEY, BID_PLACED, 'not-a-uuid-but-an-id', Buffer.from('this is not protobuf'));
      await published.current.raw(AUCTION_CLOSED_ROUTING_KEY, 'auction.events.v1.SomethingElse', good.eventId.replace(/.$/, '0'), auctionClosedToProto(good));
      await published.current.closed(good);
      await eventually(
        () => consumers.handled(),
        (n) => n === 3,
        'messages handled',
      );

      const { deadLetterQueue } = consumers.consumers[0]!;
      const dead = [await published.current.take(deadLetterQueue), await published.current.take(deadLetterQueue)];
      expect(dead.map((m) => [m?.properties.type, String(m?.properties.headers?.['x-dead-letter-reason'])])).toEqual([
        [BID_PLACED, expect.stringMatching(/not a valid auction\.events\.v1\.BidPlaced: .+/)],
        ['auction.events.v1.SomethingElse', expect.stringContaining('unknown event type')],
      ]);
      expect(dead[0]?.content.toString(), 'the payload, unchanged').toBe('this is not protobuf');
      expect(await statsOf(env.db, winner), 'the good message after them').toEqual({ bids_placed: 0n, auctions_won: 1n, total_spent_cents: 900n });
      expect(await consumers.handled('dead_lettered')).toBe(2);
    } finally {
      await consumers.close();
    }
  });

  it('tries a message that fails on its own again, then dead-letters it after the limit, and nothing is counted', async () => {
    // Every attempt fails inside the transaction, after the effect: the message's own failure, not an outage.
    setFailpoint('stats.before-commit', 'error');
    const consumers = await inProcessConsumers(env, { config: { maxAttempts: 3, retryDelayMs: 10 } });
    try {
      const winner = aBidder();
      const event = auctionClosed({ winnerId: winner });
      await published.current.closed(event);
      await eventually(
        () => consumers.handled('dead_lettered'),
        (n) => n === 1,
        'the message dead-lettered',
      );
      expect(await consumers.handled('retried'), 'attempts before giving up').toBe(2);
      const dead = await published.current.take(consumers.consumers[0]!.deadLetterQueue);
      expect(dead?.properties.messageId).toBe(event.eventId);
      expect(String(dead?.properties.headers?.['x-dead-letter-reason'])).toMatch(/^failed 3 times, last: failpoint "stats.before-commit" fired/);
      expect(await statsOf(env.db, winner)).toBeUndefined();
    } finally {
      clearFailpoints();
      await consumers.close();
    }
  });

  it('a message whose every delivery ends without an outcome (its consumer dies holding it) is dead-lettered by the queue itself after the delivery limit', async () => {
    // The consumer declares its queues; then nothing consumes them but this test's channels.
    const consumers = await inProcessConsumers(env);
    const { queue, deadLetterQueue } = consumers.consumers[0]!;
    await consumers.close();
    const event = auctionClosed();
    await published.current.closed(event);
    const connection = await amqp.connect(env.config.amqpUrl);
    const deliveryCounts: unknown[] = [];
    try {
      // Each round takes the message and closes the channel without an ack, as a crash does:
      // the consumer's own attempt count (x-attempt) never moves, RabbitMQ's does.
      for (let round = 0; round < 100 && (await published.current.depth(deadLetterQueue)) === 0; round++) {
        const ch = await connection.createChannel();
        const msg = await ch.get(queue, { noAck: false });
        if (msg) deliveryCounts.push(msg.properties.headers?.['x-delivery-count'] ?? 0);
        await ch.close();
        if (!msg) await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
    expect(deliveryCounts.length, `deliveries before the queue dead-lettered it (x-delivery-count seen: ${deliveryCounts.join(', ')})`).toBe(
      DELIVERY_LIMIT + 1,
    );
    const dead = await published.current.take(deadLetterQueue);
    expect(dead?.properties.messageId).toBe(event.eventId);
    const deaths = dead?.properties.headers?.['x-death'] as Array<{ reason: string; queue: string }> | undefined;
    expect(
      deaths?.map((d) => [d.reason, d.queue]),
      'why and where the broker dead-lettered it',
    ).toEqual([['delivery_limit', queue]]);
  });
});
