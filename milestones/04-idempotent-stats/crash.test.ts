// Milestone 4 · the bid-worker dying between its database commit and its ack, and before its commit.
import { describe, expect, it } from 'vitest';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';
import { aBidder, auctionClosed, exitOf, usePublisher, statsOf, throwIfTodo } from './fixtures.ts';

const env = useTestEnv();
const published = usePublisher(env);

async function worker(failpoints = ''): Promise<ServiceProcess> {
  const running = await startServiceProcess({
    tree: env.tree,
    entry: 'bid-worker.ts',
    config: { ...env.config, failpoints },
    extraEnv: { LOG_LEVEL: 'debug' },
  });
  await running.waitForEvent('consuming', (e) => e.consumer === 'user-stats', 15_000);
  return running;
}

const handled = (w: ServiceProcess, outcome: string) => w.events('message-handled', (e) => e.consumer === 'user-stats' && e.outcome === outcome).length;

describe('bid-worker consuming AuctionClosed', () => {
  it('killed after its commit, before its ack: the redelivery is skipped as a duplicate and the total is exact', async () => {
    const first = await worker('user-stats.before-ack=crash@1');
    const winner = aBidder();
    await published.current.closed(auctionClosed({ winnerId: winner, finalPriceCents: 31_000n }));
    expect((await exitOf(first)).signal, 'the worker was killed at the failpoint').toBe('SIGKILL');
    expect(await statsOf(env.db, winner), 'committed before the crash').toEqual({ bids_placed: 0n, auctions_won: 1n, total_spent_cents: 31_000n });

    const second = await worker();
    try {
      await eventually(
        async () => (throwIfTodo(second), handled(second, 'duplicate')),
        (n) => n === 1,
        'the redelivered message skipped',
      );
      expect(await statsOf(env.db, winner)).toEqual({ bids_placed: 0n, auctions_won: 1n, total_spent_cents: 31_000n });
    } finally {
      await second.stop();
    }
  });

  it('killed before its commit: nothing was counted, and the redelivery is applied once', async () => {
    const first = await worker('stats.before-commit=crash@1');
    const winner = aBidder();
    await published.current.closed(auctionClosed({ winnerId: winner, finalPriceCents: 4_200n }));
    expect((await exitOf(first)).signal, 'the worker was killed at the failpoint').toBe('SIGKILL');
    expect(await statsOf(env.db, winner), 'rolled back with the crash').toBeUndefined();

    const second = await worker();
    try {
      await eventually(
        async () => (throwIfTodo(second), handled(second, 'applied')),
        (n) => n === 1,
        'the redelivered message applied',
      );
      expect(await statsOf(env.db, winner)).toEqual({ bids_placed: 0n, auctions_won: 1n, total_spent_cents: 4_200n });
    } finally {
      await second.stop();
    }
  });
});
