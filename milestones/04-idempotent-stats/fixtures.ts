// Named fixtures of the milestone-4 tests.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { startReadModelConsumer, startStatsConsumer } from '#app/consumers/consumers.ts';
import type { Consumer } from '#app/consumers/consume.ts';
import { createAmqp, type Amqp } from '#runtime/amqp.ts';
import type { Config } from '#runtime/config.ts';
import type { Db } from '#runtime/db.ts';
import { AUCTION_CLOSED, AUCTION_CLOSED_ROUTING_KEY, auctionClosedToProto, type AuctionClosed } from '#runtime/events/auction-closed.ts';
import { BID_PLACED, BID_PLACED_ROUTING_KEY, bidPlacedToProto, type BidPlaced } from '#runtime/events/bid-placed.ts';
import { createMetrics, type Metrics } from '#runtime/metrics.ts';
import { createRedis, type Redis } from '#runtime/redis.ts';
import type { TestEnv } from '#testkit/harness.ts';
import { loggedErrorMessage, type ServiceProcess } from '#testkit/service-process.ts';
import { describeIdempotentStats, type IdempotentStatsState } from './lib/idempotent-stats.ts';

export const aBidder = () => randomUUID();

/** An item written directly, ending `endsIn` from now by the database's clock. */
export async function anItem(db: Db, endsIn = "interval '1 day'", startPriceCents = 1_000n): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO items (title, start_price_cents, start_at, end_at) VALUES ('Lot', $1::bigint, now() - interval '1 day', now() + ${endsIn}) RETURNING id`,
    [startPriceCents.toString()],
  );
  return rows[0]!.id;
}

export function auctionClosed(overrides: Partial<AuctionClosed> = {}): AuctionClosed {
  return {
    eventId: randomUUID(),
    itemId: randomUUID(),
    winnerId: randomUUID(),
    finalPriceCents: 12_345n,
    bidCount: 3n,
    sequence: 4n,
    closedAt: new Date(),
    correlationId: 'test',
    ...overrides,
  };
}

export function bidPlaced(overrides: Partial<BidPlaced> = {}): BidPlaced {
  return {
    eventId: randomUUID(),
    itemId: randomUUID(),
    bidId: randomUUID(),
    userId: randomUUID(),
    amountCents: 1_000n,
    sequence: 1n,
    placedAt: new Date(),
    correlationId: 'test',
    ...overrides,
  };
}

export type Stats = { bids_placed: bigint; auctions_won: bigint; total_spent_cents: bigint };

export async function statsOf(db: Db, userId: string): Promise<Stats | undefined> {
  const { rows } = await db.query<Stats>('SELECT bids_placed, auctions_won, total_spent_cents FROM user_stats WHERE user_id = $1', [userId]);
  return rows[0];
}

/** Publishes events to this file's exchange as the relay would: persistent, message id = event id, type = event type. */
export async function publisher(config: Pick<Config, 'amqpUrl' | 'amqp'>) {
  const connection = await amqp.connect(config.amqpUrl);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(config.amqp.exchange, 'topic', { durable: true });
  const send = async (routingKey: string, type: string | undefined, messageId: string | undefined, payload: Uint8Array) => {
    channel.publish(config.amqp.exchange, routingKey, Buffer.from(payload), { persistent: true, messageId, type });
    await channel.waitForConfirms();
  };
  return {
    channel,
    closed: (e: AuctionClosed) => send(AUCTION_CLOSED_ROUTING_KEY, AUCTION_CLOSED, e.eventId, auctionClosedToProto(e)),
    bid: (e: BidPlaced) => send(BID_PLACED_ROUTING_KEY, BID_PLACED, e.eventId, bidPlacedToProto(e)),
    raw: send,
    /** Messages waiting in a queue (0 once consumers took and acked them all). */
    depth: async (queue: string) => (await channel.checkQueue(queue)).messageCount,
    /** Takes one message off a queue (the dead-letter queue), or undefined. */
    take: async (queue: string) => (await channel.get(queue, { noAck: true })) || undefined,
    close: () => connection.close().catch(() => undefined),
  };
}

export type Publisher = Awaited<ReturnType<typeof publisher>>;

/** A publisher for the whole test file, opened before its tests and closed after them. */
export function usePublisher(env: TestEnv): { readonly current: Publisher } {
  const holder = {} as { current: Publisher };
  beforeAll(async () => {
    holder.current = await publisher(env.config);
  });
  afterAll(async () => {
    await holder.current?.close();
  });
  return holder;
}

export interface InProcessConsumers {
  amqp: Amqp;
  metrics: Metrics;
  consumers: Consumer[];
  /** The consumer_messages_total of one outcome, summed over the consumers; throws at once if a consumer stopped on unwritten code. */
  handled(outcome?: string): Promise<number>;
  /** Messages waiting in the consumers' queue; throws like handled(). */
  depth(): Promise<number>;
  close(): Promise<void>;
}

/** Stats (and optionally read-model) consumers in this process, on this file's queues. */
export async function inProcessConsumers(
  env: TestEnv,
  options: { db?: Db; redis?: Redis; copies?: number; config?: Partial<Config['consumer']>; amqpUrl?: string } = {},
): Promise<InProcessConsumers> {
  const client = await createAmqp({ url: options.amqpUrl ?? env.config.amqpUrl, log: env.log, name: 'test-consumer' });
  await client.whenConnected();
  const metrics = createMetrics({ defaults: false });
  const config = { ...env.config, consumer: { ...env.config.consumer, retryDelayMs: 10, ...options.config } };
  const deps = { db: options.db ?? env.db, amqp: client, log: env.log, metrics, config };
  const consumers: Consumer[] = [];
  for (let i = 0; i < (options.copies ?? 1); i++) consumers.push(await startStatsConsumer(deps));
  if (options.redis) consumers.push(await startReadModelConsumer({ ...deps, redis: options.redis }));
  return {
    amqp: client,
    metrics,
    consumers,
    async handled(outcome) {
      throwIfStopped();
      const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'auction_consumer_messages_total');
      return (metric?.values ?? []).filter((v) => !outcome || v.labels.outcome === outcome).reduce((sum, v) => sum + Number(v.value), 0);
    },
    async depth() {
      throwIfStopped();
      const channel = await client.createChannel();
      try {
        return (await channel.checkQueue(consumers[0]!.queue)).messageCount;
      } finally {
        await channel.close().catch(() => undefined);
      }
    },
    async close() {
      await Promise.all(consumers.map((c) => c.stop()));
      await client.close();
    },
  };
  function throwIfStopped() {
    const failure = consumers.find((c) => c.failure)?.failure;
    if (failure) throw failure;
  }
}

/** Throws the TodoError a service process logged (unwritten code never converges), so a wait ends now. */
export function throwIfTodo(proc: ServiceProcess): void {
  const line = proc.logs.find((l) => typeof l.todo === 'string');
  if (line) throw Object.assign(new Error(`${line.msg}: ${String(line.todo)}`), { name: 'TodoError' });
}

/** How the process ended; rejects at once if it logged unwritten code instead. */
export async function exitOf(proc: ServiceProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const todo = proc
    .waitForLog((l) => typeof l.todo === 'string', 60_000)
    .then((l) => {
      throw Object.assign(new Error(`${l.msg}: ${String(l.todo)}`), { name: 'TodoError' });
    });
  todo.catch(() => undefined);
  return Promise.race([proc.exited, todo]);
}

/** A Redis client on the test's Redis; its keys carry this file's prefix, which the harness deletes after the file. */
export async function testRedis(env: TestEnv): Promise<Redis & { cleanUp(): Promise<void> }> {
  const redis = createRedis({ url: env.config.redisUrl, log: env.log });
  await redis.connect();
  return Object.assign(redis, {
    async cleanUp() {
      await redis.quit();
    },
  });
}

/**
 * For a failure message: where the run's events are (published, applied, queued,
 * dead-lettered), the first differences, and what the workers warned about, counted.
 */
export function whatHappened(state: IdempotentStatsState, workers: ServiceProcess[]): string {
  const lines: string[] = [];
  describeIdempotentStats(state, (line) => lines.push(line));
  const warnings = new Map<string, number>();
  for (const w of workers) {
    for (const l of w.logs.filter((l) => l.level >= 40)) {
      const err = loggedErrorMessage(l);
      const text = `${l.msg}${err !== undefined ? `: ${err}` : typeof l.reason === 'string' ? `: ${l.reason}` : ''}`;
      warnings.set(text, (warnings.get(text) ?? 0) + 1);
    }
  }
  for (const [text, n] of warnings) lines.push(`worker warned ${n}×: ${text}`);
  return lines.join('\n');
}
