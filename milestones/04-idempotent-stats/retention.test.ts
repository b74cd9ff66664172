// Milestone 4 · retention: published outbox rows and processed message ids are deleted once
// past their window, in batches; nothing still owed, and no id still guarding, is.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRetention } from '#app/retention/retention.ts';
import { applyStatsOnce, STATS_CONSUMER } from '#app/stats/apply-stats-once.ts';
import { loadConfig } from '#runtime/config.ts';
import type { Db } from '#runtime/db.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import { createMetrics, type Metrics } from '#runtime/metrics.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess } from '#testkit/service-process.ts';
import { aBidder, auctionClosed, throwIfTodo } from './fixtures.ts';

const env = useTestEnv();
const HOUR = 3_600_000;

/** An outbox row in a given state, `age` ago (a SQL interval). */
async function outboxRow(db: Db, state: 'published' | 'pending' | 'set-aside', age: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload, created_at, published_at, failed_at, last_error)
     VALUES ('item', $1::uuid, 'auction.events.v1.BidPlaced', 'bid.placed', '\\x00'::bytea, now() - $2::interval,
             CASE WHEN $3::text = 'published' THEN now() - $2::interval END,
             CASE WHEN $3::text = 'set-aside' THEN now() - $2::interval END,
             CASE WHEN $3::text = 'set-aside' THEN 'oversize' END)
     RETURNING id`,
    [randomUUID(), age, state],
  );
  return rows[0]!.id;
}

const outboxIds = async (db: Db, ids: string[]) =>
  (await db.query<{ id: string }>('SELECT id FROM outbox WHERE id = ANY($1::uuid[]) ORDER BY id', [ids])).rows.map((r) => r.id);

async function metricValue(metrics: Metrics, name: string, table: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Number(metric?.values.find((v) => v.labels.table === table)?.value ?? 0);
}

const retentionOf = (windows: { outboxMs?: number; processedMessagesMs?: number }) => {
  const metrics = createMetrics({ defaults: false });
  const retention = createRetention({
    db: env.db,
    log: env.log,
    metrics,
    config: { retention: { outboxMs: HOUR, processedMessagesMs: HOUR, batchSize: 2, intervalMs: 60_000, ...windows } },
  });
  return { retention, metrics };
};

describe('the retention job', () => {
  it('deletes published outbox rows past the window, two per statement, and keeps every unpublished, set-aside or recent row', async () => {
    const expired = [];
    for (let i = 0; i < 5; i++) expired.push(await outboxRow(env.db, 'published', '2 hours'));
    const kept = [
      await outboxRow(env.db, 'published', '1 minute'),
      await outboxRow(env.db, 'pending', '2 hours'),
      await outboxRow(env.db, 'set-aside', '2 hours'),
    ];
    const { retention, metrics } = retentionOf({});

    const deleted = await retention.deleteExpired();

    expect(deleted.outbox, 'outbox rows deleted').toBe(5);
    expect(
      await outboxIds(env.db, [...expired, ...kept]),
      'rows left: published a minute ago, the unpublished one and the set-aside one, though both are older than the window',
    ).toEqual([...kept].sort());
    expect(await metricValue(metrics, 'auction_retention_deleted_total', 'outbox'), 'auction_retention_deleted_total{table="outbox"}').toBe(5);
    expect(await metricValue(metrics, 'auction_retention_expired_rows', 'outbox'), 'auction_retention_expired_rows{table="outbox"} after the round').toBe(0);
  });

  it('deletes processed ids past the window, so a duplicate arriving later is applied again; an id within the window still refuses its duplicate', async () => {
    const late = { type: AUCTION_CLOSED, event: auctionClosed({ winnerId: aBidder(), finalPriceCents: 500n }) } as const;
    const recent = { type: AUCTION_CLOSED, event: auctionClosed({ winnerId: aBidder(), finalPriceCents: 700n }) } as const;
    expect([await applyStatsOnce(env, late.event.eventId, late), await applyStatsOnce(env, recent.event.eventId, recent)]).toEqual(['applied', 'applied']);
    await env.db.query(`UPDATE processed_messages SET processed_at = now() - interval '2 hours' WHERE consumer = $1 AND message_id = $2::uuid`, [
      STATS_CONSUMER,
      late.event.eventId,
    ]);
    // Two more ids past the window, so the job needs more than one batch of two.
    await env.db.query(
      `INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('read-model', $1::uuid, now() - interval '3 hours'), ('read-model', $2::uuid, now() - interval '3 hours')`,
      [randomUUID(), randomUUID()],
    );
    const { retention, metrics } = retentionOf({});

    const deleted = await retention.deleteExpired();

    expect(deleted.processed_messages, 'processed ids deleted').toBe(3);
    expect(
      await metricValue(metrics, 'auction_retention_deleted_total', 'processed_messages'),
      'auction_retention_deleted_total{table="processed_messages"}',
    ).toBe(3);
    expect(
      { late: await applyStatsOnce(env, late.event.eventId, late), recent: await applyStatsOnce(env, recent.event.eventId, recent) },
      'a duplicate of each, after the round: the window is the trade-off',
    ).toEqual({ late: 'applied', recent: 'duplicate' });
  });

  it('runs in the bid-worker every RETENTION_INTERVAL_MS', async () => {
    const id = await outboxRow(env.db, 'published', '2 hours');
    const worker = await startServiceProcess({
      tree: env.tree,
      entry: 'bid-worker.ts',
      config: { ...env.config, worker: { roles: ['retention'] }, retention: { ...loadConfig({}).retention, outboxMs: HOUR, intervalMs: 100 } },
    });
    try {
      await eventually(
        async () => {
          throwIfTodo(worker);
          return outboxIds(env.db, [id]);
        },
        (ids) => ids.length === 0,
        'the bid-worker to delete an outbox row published 2 hours ago (window 1 hour)',
      );
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      expect(
        Number(/^auction_retention_deleted_total\{table="outbox"\} (\d+)/m.exec(text)?.[1]),
        'auction_retention_deleted_total{table="outbox"} on /metrics',
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await worker.stop();
    }
  });
});
