// Milestone 2 · the lesson's question: the power cuts out after the bid commits, before the publish.
import { describe, expect, it } from 'vitest';
import { collectEvents } from '#testkit/event-collector.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';
import { aBidder, count, inProcessRelay, openItem, pendingOutbox } from './fixtures.ts';

const env = useTestEnv();

/** A bid-service that writes bids the `mode` way and crashes right after its commit. */
const crashingService = (mode: 'dual-write' | 'outbox') =>
  startServiceProcess({ tree: env.tree, entry: 'bid-service.ts', config: { ...env.config, bidWriteMode: mode, failpoints: 'bid.after-commit=crash' } });

/** POSTs a bid to a crashing bid-service; returns what the bidder saw and how the process ended. */
async function bidThrough(service: ServiceProcess, itemId: string) {
  const answer = await fetch(`${service.url}/items/${itemId}/bids`, { method: 'POST', body: JSON.stringify({ userId: aBidder(), amountCents: '700' }) }).then(
    async (res) => `HTTP ${res.status} ${await res.text()}`,
    (err: Error) => `no answer (${(err.cause as Error | undefined)?.message ?? err.message})`,
  );
  // An answer means it never reached the crash: stop it, and let the assertions say what it answered.
  if (answer.startsWith('HTTP')) await service.stop('SIGTERM');
  return { answer, exit: await service.exited };
}

describe('a crash between commit and publish', () => {
  it('loses the event for ever with the naive dual write; with the outbox the relay delivers it exactly once', async () => {
    const collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange });
    // Both services started at once, before either is used: each crashes on its first bid.
    const [relay, naiveService, outboxService] = await Promise.all([inProcessRelay(env), crashingService('dual-write'), crashingService('outbox')]);
    try {
      // Naive: the bid is committed, the process dies, nothing is left to publish it.
      const naiveItem = await openItem(env.db);
      const naive = await bidThrough(naiveService, naiveItem);
      expect(naive.answer, 'what the bidder saw').toMatch(/^no answer/);
      expect(naive.exit.signal, 'the naive service was killed').toBe('SIGKILL');
      expect(await count(env.db, 'SELECT count(*) AS n FROM bids WHERE item_id = $1', [naiveItem]), 'naive: bids in the database').toBe(1);
      await relay.drain();

      // Outbox: the same crash, and the event is a committed row the relay will find.
      const outboxItem = await openItem(env.db);
      const outbox = await bidThrough(outboxService, outboxItem);
      expect(outbox.answer, 'what the bidder saw').toMatch(/^no answer/);
      expect(outbox.exit.signal, 'the outbox service was killed').toBe('SIGKILL');
      expect(await count(env.db, 'SELECT count(*) AS n FROM bids WHERE item_id = $1', [outboxItem]), 'outbox: bids in the database').toBe(1);
      expect(await pendingOutbox(env.db), 'events waiting in the outbox').toBe(1);
      await relay.drain();
      await collector.waitFor(1);
      await relay.drain();
      await new Promise((r) => setTimeout(r, 500));

      const delivered = (itemId: string) => collector.messages.filter((m) => m.event.itemId === itemId).length;
      expect({ naive: delivered(naiveItem), outbox: delivered(outboxItem) }, 'events delivered per item').toEqual({ naive: 0, outbox: 1 });
      expect(await pendingOutbox(env.db)).toBe(0);
    } finally {
      await Promise.all([naiveService.stop('SIGKILL'), outboxService.stop('SIGKILL')]);
      await relay.close();
      await collector.close();
    }
  });
});
