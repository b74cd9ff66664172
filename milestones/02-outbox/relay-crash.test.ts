// Milestone 2 · bid-worker crashing mid-batch, vanishing from the network mid-batch, and stopping on SIGTERM.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { startFaultProxy } from '#testkit/fault-proxy.ts';
import { collectEvents } from '#testkit/event-collector.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess } from '#testkit/service-process.ts';
import { aBidder, count, inProcessRelay, openItem, pendingOutbox } from './fixtures.ts';

const env = useTestEnv();

const worker = (failpoints = '') => startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config: { ...env.config, failpoints } });

describe('bid-worker', () => {
  it('crashing after publish, before marking: the next relay publishes the same events again (at least once)', async () => {
    const collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange });
    try {
      const itemId = await openItem(env.db);
      for (let i = 0; i < 3; i++) await placeBid(env, { itemId, userId: aBidder(), amountCents: String(1_000 * (i + 1)) });
      const first = await worker('relay.after-publish=crash');
      expect((await first.exited).signal, 'the first worker was killed').toBe('SIGKILL');
      await collector.waitFor(3).catch((err: Error) => {
        throw new Error(
          `the worker was killed right after publishBatch returned, and the broker had not received the batch (${err.message}): publishBatch must resolve only once the broker confirmed every message (await channel.waitForConfirms())`,
        );
      });
      expect(await pendingOutbox(env.db), 'rows left unmarked by the crash').toBe(3);

      // The next relay: the same code, in this process (a second process start would only add a second).
      const next = await inProcessRelay(env);
      try {
        next.relay.start();
        await next.delivered(collector, 6);
        await eventually(
          () => pendingOutbox(env.db),
          (n) => n === 0,
          'rows marked by the next relay',
        );
      } finally {
        await next.close();
      }
      const copies = new Map<string, number>();
      for (const m of collector.messages) copies.set(m.messageId, (copies.get(m.messageId) ?? 0) + 1);
      expect(copies.size, 'distinct events').toBe(3);
      expect([...copies.values()], 'copies of each event').toEqual([2, 2, 2]);
    } finally {
      await collector.close();
    }
  });

  it('vanishing mid-batch (its network black-holed, no FIN): PostgreSQL ends its idle transaction within the bound, and another relay takes the partition over', async () => {
    const boundMs = 2_000;
    const proxy = await startFaultProxy({ target: env.config.databaseUrl });
    // Holds its batch transaction (the partition's leader lock, the claimed row) open after publishing.
    const vanishing = await startServiceProcess({
      tree: env.tree,
      entry: 'bid-worker.ts',
      config: {
        ...env.config,
        databaseUrl: proxy.url(env.config.databaseUrl),
        worker: { roles: ['relay'] },
        failpoints: 'relay.after-publish=delay(60000)@1',
        outbox: { ...env.config.outbox, idleInTransactionTimeoutMs: boundMs },
      },
    });
    const standby = await inProcessRelay(env, { pollMs: 100 });
    try {
      const itemId = await openItem(env.db);
      await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
      await vanishing.waitForEvent('failpoint-fired', (e) => e.failpoint === 'relay.after-publish', 15_000);
      // The host is gone: nothing it sends arrives, and nothing tells PostgreSQL so.
      proxy.blackhole(true);
      const vanishedAt = Date.now();
      await placeBid(env, { itemId, userId: aBidder(), amountCents: '200' });
      standby.relay.start();
      await eventually(
        () => pendingOutbox(env.db),
        (n) => n === 0,
        `the standby relay to publish the item's events once PostgreSQL ended the vanished relay's transaction (bound ${boundMs} ms)`,
        boundMs + 4_000,
      );
      expect(Date.now() - vanishedAt, 'ms from the relay vanishing until its partition was published again').toBeLessThan(boundMs + 4_000);
    } finally {
      await standby.close();
      await proxy.close();
      await vanishing.stop('SIGKILL');
    }
  });

  it('on SIGTERM finishes the batch in flight, marks it, and exits 0', async () => {
    const collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange });
    const running = await worker('relay.after-publish=delay(1500)@1');
    try {
      const itemId = await openItem(env.db);
      await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
      await running.waitForEvent('failpoint-fired', (e) => e.failpoint === 'relay.after-publish', 15_000);
      expect(await running.stop('SIGTERM'), 'how the worker ended').toEqual({ code: 0, signal: null });
      expect(
        await count(env.db, 'SELECT count(*) AS n FROM outbox WHERE aggregate_id = $1 AND published_at IS NOT NULL', [itemId]),
        'rows marked published',
      ).toBe(1);
      expect(running.events('shut-down-cleanly')).toHaveLength(1);
      await collector.waitFor(1);
    } finally {
      await running.stop('SIGKILL');
      await collector.close();
    }
  });
});
