// Named fixtures of the milestone-2 tests.
import { randomUUID } from 'node:crypto';
import { createRelay, type Relay } from '#app/outbox/relay.ts';
import { createAmqp, type Amqp } from '#runtime/amqp.ts';
import type { Db } from '#runtime/db.ts';
import { createMetrics, type Metrics } from '#runtime/metrics.ts';
import type { EventCollector } from '#testkit/event-collector.ts';
import { eventually } from '#testkit/eventually.ts';
import type { TestEnv } from '#testkit/harness.ts';

/** An open item, written directly so these tests do not depend on milestone-1 code paths. */
export async function openItem(db: Db, startPriceCents = '100'): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO items (title, start_price_cents, end_at) VALUES ('Lot', $1::bigint, now() + interval '1 day') RETURNING id`,
    [startPriceCents],
  );
  return rows[0]!.id;
}

export const aBidder = () => randomUUID();

export async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: bigint }>(sql, params);
  return Number(rows[0]?.n ?? -1);
}

export const pendingOutbox = (db: Db) => count(db, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND failed_at IS NULL');

export interface RunningRelay {
  relay: Relay;
  amqp: Amqp;
  metrics: Metrics;
  /** Runs batches until one claims nothing (bounded). */
  drain(): Promise<void>;
  /** Waits until the collector holds `n` messages, failing at once if the relay loop stopped. */
  delivered(collector: EventCollector, n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A relay in this process, on this file's database and exchange. */
export async function inProcessRelay(
  env: TestEnv,
  options: { amqpUrl?: string; pollMs?: number; maxPayloadBytes?: number; backoffMaxMs?: number; connected?: boolean } = {},
): Promise<RunningRelay> {
  const amqp = await createAmqp({ url: options.amqpUrl ?? env.config.amqpUrl, log: env.log, name: 'test-relay' });
  if (options.connected !== false) await amqp.whenConnected();
  const metrics = createMetrics({ defaults: false });
  const config = {
    ...env.config,
    outbox: {
      ...env.config.outbox,
      pollMs: options.pollMs ?? env.config.outbox.pollMs,
      maxPayloadBytes: options.maxPayloadBytes ?? env.config.outbox.maxPayloadBytes,
      backoffMaxMs: options.backoffMaxMs ?? 500,
    },
  };
  const relay = createRelay({ db: env.db, amqp, log: env.log, metrics, config });
  return {
    relay,
    amqp,
    metrics,
    async drain() {
      for (let i = 0; i < 1_000; i++) if ((await relay.relayBatch()).claimed === 0) return;
      throw new Error('the outbox did not drain within 1,000 batches');
    },
    async delivered(collector, n, timeoutMs = 15_000) {
      await eventually(
        async () => {
          if (relay.failure) throw relay.failure;
          return collector.messages.length;
        },
        (got) => got >= n,
        `${n} messages delivered`,
        timeoutMs,
      );
    },
    async close() {
      await relay.stop();
      await amqp.close();
    },
  };
}

export async function metricValue(metrics: Metrics, name: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? []).reduce((sum, v) => sum + Number(v.value), 0);
}
