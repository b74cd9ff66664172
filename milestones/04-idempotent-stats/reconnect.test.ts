// Milestone 4 · RabbitMQ's connection cut while the consumer is mid-stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, bidPlaced, inProcessConsumers, usePublisher, statsOf } from './fixtures.ts';

const env = useTestEnv();
let proxy: FaultProxy;
const published = usePublisher(env);

beforeAll(async () => {
  proxy = await startFaultProxy({ target: env.config.amqpUrl });
});
afterAll(async () => {
  await proxy?.close();
});

describe('the stats consumer', () => {
  it('reconnects after its connection is cut mid-stream, and every bid is counted exactly once', async () => {
    const consumers = await inProcessConsumers(env, { amqpUrl: proxy.url(env.config.amqpUrl) });
    try {
      const bidders = Array.from({ length: 5 }, aBidder);
      const sent = new Map(bidders.map((b) => [b, 0n]));
      for (let i = 0; i < 300; i++) {
        const userId = bidders[i % bidders.length]!;
        await published.current.bid(bidPlaced({ userId }));
        sent.set(userId, sent.get(userId)! + 1n);
        if (i === 100 || i === 200) proxy.cutAll();
      }
      await eventually(
        () => consumers.depth(),
        (n) => n === 0,
        'the queue drained',
        20_000,
      );
      for (const [userId, bids] of sent) {
        await eventually(
          async () => (await statsOf(env.db, userId))?.bids_placed,
          (n) => n === bids,
          `bids counted for ${userId}`,
        );
      }
      const { rows } = await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM processed_messages');
      expect(rows[0]!.n, 'messages recorded as applied').toBe(300n);
    } finally {
      await consumers.close();
    }
  });
});
