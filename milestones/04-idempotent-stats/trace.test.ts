// Milestone 4 · the correlation id of a bid follows its event through the broker: the worker's
// lines about that event (relay, consumers, a failed attempt) carry it.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { withCorrelationId } from '#runtime/logger.ts';
import { eventsIn } from '#runtime/process-events.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess } from '#testkit/service-process.ts';
import { aBidder, anItem, statsOf, throwIfTodo } from './fixtures.ts';

const env = useTestEnv();

describe('a bid’s correlation id in the worker', () => {
  it('is on every worker line about its event: published by the relay, failed once and applied by user-stats, applied by read-model', async () => {
    // The stats consumer's first attempt fails, so the event has a warning line as well.
    const worker = await startServiceProcess({
      tree: env.tree,
      entry: 'bid-worker.ts',
      config: { ...env.config, failpoints: 'stats.before-commit=error@1' },
      extraEnv: { LOG_LEVEL: 'debug' },
    });
    try {
      const itemId = await anItem(env.db);
      const bidder = aBidder();
      // What the API does with the x-correlation-id a client sent (milestone 1).
      const correlationId = `trace-${bidder}`;
      await withCorrelationId(correlationId, () => placeBid(env, { itemId, userId: bidder, amountCents: '1500' }));
      const { rows } = await env.db.query<{ id: string }>('SELECT id FROM outbox WHERE aggregate_id = $1', [itemId]);
      const eventId = rows[0]!.id;
      const aboutTheEvent = () => worker.logs.filter((l) => l.messageId === eventId);
      await eventually(
        async () => {
          throwIfTodo(worker);
          return {
            stats: (await statsOf(env.db, bidder))?.bids_placed,
            readModel: eventsIn(aboutTheEvent(), 'message-handled', (e) => e.consumer === 'read-model').length > 0,
          };
        },
        (s) => s.stats === 1n && s.readModel,
        'the bid applied by both consumers',
        20_000,
      );
      const lines = aboutTheEvent().map((l) => ({ consumer: l.consumer ?? 'relay', event: l.event, correlationId: l.correlationId }));
      expect(lines, "the worker's lines about the event").toEqual(
        expect.arrayContaining([
          { consumer: 'relay', event: 'event-published', correlationId },
          { consumer: 'user-stats', event: 'message-retried', correlationId },
          { consumer: 'user-stats', event: 'message-handled', correlationId },
          { consumer: 'read-model', event: 'message-handled', correlationId },
        ]),
      );
      expect(
        lines.filter((l) => l.correlationId !== correlationId),
        'lines about the event without its correlation id',
      ).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});
