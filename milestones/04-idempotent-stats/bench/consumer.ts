// npm run bench -- consumer: the stats consumer's throughput on a backlog of BidPlaced
// messages, effects checked exactly once afterwards, next to two ceilings measured in the
// same run: consuming and acking the same messages from the same kind of queue with no work,
// and pgbench running the consumer's effect in SQL at the consumer's concurrency.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import amqp, { type Channel, type Options } from 'amqplib';
import { createAmqp } from '#runtime/amqp.ts';
import { barsAgainstCeiling, type Bar, fmt, type BenchContext } from '#runtime/bench-stats.ts';
import { createDb } from '#runtime/db.ts';
import { BID_PLACED, BID_PLACED_ROUTING_KEY, bidPlacedToProto } from '#runtime/events/bid-placed.ts';
import { createLogger, type Logger } from '#runtime/logger.ts';
import { createMetrics } from '#runtime/metrics.ts';
import { CONSUMERS, queueNames } from '#runtime/queues.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = {
  full: { messages: 5_000, pgbenchSeconds: 6 },
  smoke: { messages: 200, pgbenchSeconds: 1 },
};
/** The batched consumer's share of the lower ceiling it must reach. */
const TARGET_SHARE = 0.7;
const USERS = 100;
const POOL = 10;
const PREFETCH = 20;
const script = fileURLToPath(new URL('./apply-stats.pgbench.sql', import.meta.url));
const userId = (u: number) => `00000000-0000-4000-8000-${String(u).padStart(12, '0')}`;

type StartConsumer = (deps: unknown) => Promise<{ stop(): Promise<void>; queue: string }>;
type QueueDeclarations = {
  consumerQueueOptions(deadLetterQueue: string): Options.AssertQueue;
  declareConsumerQueues(connection: { createChannel(): Promise<Channel> }, names: { queue: string; deadLetterQueue: string }, log: Logger): Promise<void>;
};

export const benchmark = {
  name: 'consumer',
  milestone: 4,
  summary: `Messages/s of the stats consumer on a backlog of ${fmt(SIZES.full.messages)} BidPlaced (prefetch ${PREFETCH}, pool ${POOL}), a transaction per message and in batches, next to raw consume-and-ack and pgbench running its effect.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const { database, config: base } = await ctx.instance();
    const config = { ...base, consumer: { ...base.consumer, prefetch: PREFETCH } };
    const log = createLogger({ name: 'bench', level: 'silent' });
    const db = createDb({ url: database.url, log, max: POOL });
    const connection = await amqp.connect(config.amqpUrl);
    const channel = await connection.createConfirmChannel();
    const rows: string[] = [];
    const bars: Bar[] = [];
    let ok = true;
    const rawQueue = `${config.amqp.queuePrefix}bench-raw`;
    try {
      await channel.assertExchange(config.amqp.exchange, 'topic', { durable: true });
      const messages = Array.from({ length: size.messages }, (_, i) => {
        const eventId = randomUUID();
        const payload = bidPlacedToProto({
          eventId,
          itemId: randomUUID(),
          bidId: randomUUID(),
          userId: userId(1 + (i % USERS)),
          amountCents: 1_000n,
          sequence: 1n,
          placedAt: new Date(),
          correlationId: 'bench',
        });
        return { eventId, payload: Buffer.from(payload) };
      });
      const backlog = async (publish: (m: (typeof messages)[number]) => void) => {
        for (const m of messages) publish(m);
        await channel.waitForConfirms();
      };

      const { consumerQueueOptions, declareConsumerQueues } = (await import(
        pathToFileURL(join(ctx.tree, 'src/consumers/consumer-queues.ts')).href
      )) as QueueDeclarations;
      // Ceiling 1: the same messages through the same kind of queue, acked with no work.
      ctx.say(`raw consume-and-ack: ${fmt(size.messages)} messages, prefetch ${PREFETCH}`);
      await channel.assertQueue(rawQueue, consumerQueueOptions(`${rawQueue}.dead`));
      await backlog((m) => channel.sendToQueue(rawQueue, m.payload, { persistent: true, messageId: m.eventId, type: BID_PLACED }));
      const rawRate = await timeConsume(config.amqpUrl, rawQueue, size.messages);
      rows.push(`| raw consume-and-ack, no work (ceiling) | ${fmt(rawRate)} | – | – |`);
      bars.push({ label: 'raw consume-and-ack (ceiling)', value: Math.round(rawRate), kind: 'ceiling' });

      // Ceiling 2: the consumer's effect in SQL, one transaction per message, at its concurrency.
      ctx.say(`pgbench: the consumer's effect in SQL, ${POOL} clients, ${size.pgbenchSeconds} s`);
      const pgbench = spawnSync(
        'pgbench',
        ['-n', '-c', String(POOL), '-j', '2', '-T', String(size.pgbenchSeconds), '-D', `users=${USERS}`, '-f', script, database.url],
        { encoding: 'utf8' },
      );
      const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(pgbench.stdout)?.[1] ?? NaN);
      if (Number.isNaN(tps)) throw new Error(`pgbench did not report tps: ${(pgbench.stderr || pgbench.stdout).slice(0, 500)}`);
      rows.push(`| pgbench, the effect as one SQL transaction per message (ceiling) | ${fmt(tps)} | – | – |`);
      bars.push({ label: 'pgbench, the effect in SQL (ceiling)', value: Math.round(tps), kind: 'ceiling' });
      await db.query('TRUNCATE user_stats, processed_messages');

      // The consumer under test, on a backlog published before it starts: one transaction per
      // message, then (as it ships) batches of up to CONSUMER_BATCH_SIZE messages per transaction.
      const { queue } = queueNames(config, 'user-stats');
      await declareConsumerQueues(connection, queueNames(config, 'user-stats'), log);
      await channel.bindQueue(queue, config.amqp.exchange, BID_PLACED_ROUTING_KEY);
      const { startStatsConsumer } = (await import(pathToFileURL(join(ctx.tree, 'src/consumers/consumers.ts')).href)) as { startStatsConsumer: StartConsumer };
      const ceiling = Math.min(rawRate, tps);
      for (const batchSize of [1, config.consumer.batchSize]) {
        const name =
          batchSize === 1 ? 'stats consumer, one transaction per message' : `stats consumer, batches of up to ${batchSize} per transaction (as shipped)`;
        ctx.say(`${name}: ${fmt(size.messages)} messages, prefetch ${PREFETCH}, pool ${POOL}`);
        await db.query('TRUNCATE user_stats, processed_messages');
        await backlog((m) =>
          channel.publish(config.amqp.exchange, BID_PLACED_ROUTING_KEY, m.payload, { persistent: true, messageId: m.eventId, type: BID_PLACED }),
        );
        const client = await createAmqp({ url: config.amqpUrl, log, name: 'bench-consumer' });
        await client.whenConnected();
        const metrics = createMetrics({ defaults: false });
        const started = performance.now();
        const consumer = await startStatsConsumer({ db, amqp: client, log, metrics, config: { ...config, consumer: { ...config.consumer, batchSize } } });
        const handled = async () => (await metrics.registry.getSingleMetric('auction_consumer_messages_total')!.get()).values.reduce((s, v) => s + v.value, 0);
        const deadline = started + 120_000;
        while ((await handled()) < size.messages && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const rate = (await handled()) / ((performance.now() - started) / 1000);
        await consumer.stop();
        await client.close();

        // Exactly once: every message recorded once, every bid counted once.
        const { rows: check } = await db.query<{ processed: bigint; counted: bigint }>(
          `SELECT (SELECT count(*) FROM processed_messages) AS processed, (SELECT coalesce(sum(bids_placed), 0)::bigint FROM user_stats) AS counted`,
        );
        const exact = check[0]!.processed === BigInt(size.messages) && check[0]!.counted === BigInt(size.messages);
        const share = rate / ceiling;
        const target = batchSize > 1;
        if (!exact || (target && share < TARGET_SHARE)) ok = false;
        rows.push(
          `| ${name} | ${fmt(rate)} | ${exact ? `yes: ${fmt(size.messages)} recorded, ${fmt(size.messages)} counted` : `NO: ${check[0]!.processed} recorded, ${check[0]!.counted} counted`} | ${(share * 100).toFixed(0)}% of the lower ceiling${target ? ` (target ≥ ${TARGET_SHARE * 100}%: ${share >= TARGET_SHARE ? 'PASS' : 'FAIL'})` : ''} |`,
        );
        bars.push({ label: name, value: Math.round(rate), kind: 'measured', share });
      }
      return {
        ok,
        table: ['| consumed by | messages/s | effects exactly once | vs ceiling |', '|---|---|---|---|', ...rows],
        // Bars against the ceilings: both ceilings, then each way of consuming, labelled with its share of the lower one.
        report: barsAgainstCeiling(
          `Stats consumer, ${fmt(size.messages)} BidPlaced, prefetch ${PREFETCH}, pool ${POOL}: messages/s against the ceilings`,
          'messages per second',
          bars,
        ),
      };
    } finally {
      await channel.deleteQueue(rawQueue).catch(() => undefined);
      for (const c of CONSUMERS) for (const q of Object.values(queueNames(config, c))) await channel.deleteQueue(q).catch(() => undefined);
      await channel.deleteExchange(config.amqp.exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
      await db.end();
    }
  },
};

/** Consumes `count` messages from `queue`, acking each at once; messages per second. */
async function timeConsume(url: string, queue: string, count: number): Promise<number> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    const started = performance.now();
    await new Promise<void>((resolve) => {
      let seen = 0;
      void channel.consume(queue, (msg) => {
        if (!msg) return;
        channel.ack(msg);
        if (++seen === count) resolve();
      });
    });
    return count / ((performance.now() - started) / 1000);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
