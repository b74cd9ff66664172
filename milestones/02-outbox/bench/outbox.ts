// npm run bench -- outbox: the relay's throughput and end-to-end lag, each next to a ceiling
// measured in the same run on the same machine (these machines are noisy; absolute numbers
// from another run mean little).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import amqp from 'amqplib';
import { openItems } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import { createDb } from '#runtime/db.ts';
import { BID_PLACED, bidPlacedFromProto, bidPlacedToProto } from '#runtime/events/bid-placed.ts';
import { barsAgainstCeiling, fmt, percentile, type BenchContext } from '#runtime/bench-stats.ts';
import { createLogger } from '#runtime/logger.ts';
import { startServiceProcess } from '#testkit/service-process.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = {
  full: { drainEvents: 20_000, steadyRate: 500, steadySeconds: 10, rounds: 3 },
  smoke: { drainEvents: 500, steadyRate: 100, steadySeconds: 2, rounds: 1 },
};

export interface BenchResult {
  ok: boolean;
  table: string[];
  report?: ReturnType<typeof barsAgainstCeiling>;
}

export const benchmark = {
  name: 'outbox',
  milestone: 2,
  summary: `Relay throughput draining ${fmt(SIZES.full.drainEvents)} queued events vs raw confirmed publishes, and end-to-end lag at ${SIZES.full.steadyRate} bids/s.`,
  async run(ctx: BenchContext): Promise<BenchResult> {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const { database, exchange, config } = await ctx.instance({ logLevel: 'silent' });
    const connection = await amqp.connect(ctx.infra.amqpUrl);
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    // The relay's own batch size (OUTBOX_BATCH_SIZE), and the same for the ceiling.
    const BATCH = config.outbox.batchSize;
    const db = createDb({ url: database.url, log: createLogger({ name: 'bench', level: 'silent' }), max: 20 });
    // Events of 100 items, as a busy auction has: partitions spread them over relay loops.
    const items = await openItems(database.url, 100);
    const itemId = items[0]!;
    const payload = Buffer.from(
      bidPlacedToProto({
        eventId: randomUUID(),
        itemId: itemId!,
        bidId: randomUUID(),
        userId: randomUUID(),
        amountCents: 123_456n,
        sequence: 1n,
        placedAt: new Date(),
        correlationId: 'bench',
      }),
    );
    try {
      // 1 and 2, alternated over size.rounds so a burst of noise hits both sides; the best of each counts.
      const pending = async () => (await db.query('SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1')).rowCount ?? 0;
      // The relay alone: from milestone 4 a bid-worker also runs the closer and the consumers,
      // which would apply every event of the benchmark and compete with what is measured.
      const worker = await startServiceProcess({
        tree: ctx.tree,
        entry: 'bid-worker.ts',
        config: { ...config, worker: { roles: ['relay'] }, outbox: { ...config.outbox, batchSize: BATCH, pollMs: 50 } },
      });
      let ceiling = 0;
      let relay = 0;
      for (let round = 1; round <= size.rounds; round++) {
        // Ceiling: the same payloads, published in batches of BATCH and confirmed, no database.
        let started = performance.now();
        for (let i = 0; i < size.drainEvents; i += BATCH) {
          for (let j = 0; j < BATCH; j++) {
            if (
              !channel.publish(exchange, 'bid.placed', payload, {
                persistent: true,
                mandatory: true,
                messageId: randomUUID(),
                type: BID_PLACED,
                headers: { 'x-correlation-id': 'bench' },
              })
            ) {
              await new Promise((r) => channel.once('drain', r));
            }
          }
          await channel.waitForConfirms();
        }
        const ceilingRound = size.drainEvents / ((performance.now() - started) / 1000);
        await channel.purgeQueue(queue);

        // The relay (a real bid-worker, already idle-polling) draining as many committed rows.
        await db.query(
          `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload, headers)
           SELECT 'item', ($1::uuid[])[1 + g % 100], $2::text, 'bid.placed', $3::bytea, '{"x-correlation-id":"bench"}'::jsonb FROM generate_series(1, $4::int) AS g`,
          [items, BID_PLACED, payload, size.drainEvents],
        );
        started = performance.now();
        while ((await pending()) > 0) await sleep(20);
        const relayRound = size.drainEvents / ((performance.now() - started) / 1000);
        await channel.purgeQueue(queue);
        ctx.say(`round ${round}: ceiling ${fmt(ceilingRound)} events/s · relay ${fmt(relayRound)} events/s`);
        ceiling = Math.max(ceiling, ceilingRound);
        relay = Math.max(relay, relayRound);
      }

      // 3. Steady load: placeBid at size.steadyRate/s; lag = consumer receipt - placeBid returning (commit).
      ctx.say(`lag: ${size.steadyRate} bids/s for ${size.steadySeconds} s through placeBid, relay and a consumer`);
      const { placeBid } = (await import(pathToFileURL(join(ctx.tree, 'src/bidding/place-bid.ts')).href)) as typeof import('#app/bidding/place-bid.ts');
      const committedAt = new Map<string, number>();
      const lags: number[] = [];
      const early = new Map<string, number>();
      await channel.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const bidId = bidPlacedFromProto(msg.content).bidId;
          const at = performance.now();
          const committed = committedAt.get(bidId);
          if (committed === undefined) early.set(bidId, at);
          else lags.push(at - committed);
        },
        { noAck: true },
      );
      // Rising amounts per item, round-robin over the items, so the rules accept every bid
      // unless two on one item commit out of order (counted as rejected, not as a failure).
      const bidsOnItem = new Map<string, number>();
      let rejected = 0;
      const total = size.steadyRate * size.steadySeconds;
      const nextOn = (itemId: string) => {
        const n = (bidsOnItem.get(itemId) ?? 0) + 1;
        bidsOnItem.set(itemId, n);
        return n;
      };
      const t0 = performance.now();
      const inflight: Promise<void>[] = [];
      let refused = 0;
      for (let i = 0; i < total; i++) {
        const wait = t0 + (i * 1000) / size.steadyRate - performance.now();
        if (wait > 0) await sleep(wait);
        inflight.push(
          placeBid(
            { db, config },
            { itemId: items[i % items.length], userId: randomUUID(), amountCents: String(1_000 * nextOn(items[i % items.length]!)) },
          ).then(
            (bid) => {
              const now = performance.now();
              const seen = early.get(bid.id);
              if (seen === undefined) committedAt.set(bid.id, now);
              else lags.push(Math.max(0, seen - now));
            },
            (err: Error) => {
              if (err.name === 'BidTooLow') rejected++;
              else refused++;
            },
          ),
        );
      }
      const offered = total / ((performance.now() - t0) / 1000);
      await Promise.all(inflight);
      for (let i = 0; i < 100 && lags.length < total - rejected; i++) await sleep(100);
      await worker.stop('SIGTERM');
      const sorted = [...lags].sort((a, b) => a - b);
      const p50 = percentile(sorted, 50);
      const p99 = percentile(sorted, 99);
      const share = relay / ceiling;
      const ok = share >= 0.5 && p99 < 250 && lags.length === total - rejected && refused === 0;
      const table = [
        `| measure | result | ceiling (same run) | target |`,
        `|---|---|---|---|`,
        `| relay throughput, draining ${fmt(size.drainEvents)} rows (best of ${size.rounds}) | ${fmt(relay)} events/s | ${fmt(ceiling)} events/s raw confirmed publishes, batches of ${BATCH} (best of ${size.rounds}) | ≥ 50% of ceiling: ${(share * 100).toFixed(0)}% ${share >= 0.5 ? 'PASS' : 'FAIL'} |`,
        `| end-to-end lag at ${fmt(offered)} bids/s offered (${fmt(total)} bids) | p50 ${p50.toFixed(1)} ms · p99 ${p99.toFixed(1)} ms · max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms | – | p99 < 250 ms ${p99 < 250 ? 'PASS' : 'FAIL'} |`,
        `| events delivered | ${fmt(lags.length)} of ${fmt(total - rejected)} accepted bids (rejected as too low: ${rejected}; failed: ${refused}) | – | all ${lags.length === total - rejected && refused === 0 ? 'PASS' : 'FAIL'} |`,
      ];
      return {
        ok,
        table,
        report: barsAgainstCeiling('Outbox relay throughput against raw confirmed publishes', 'events/s', [
          { label: `raw publishes, batches of ${BATCH}`, value: ceiling, kind: 'ceiling' },
          { label: `relay, draining ${fmt(size.drainEvents)} rows`, value: relay, kind: 'measured', share: relay / ceiling },
        ]),
      };
    } finally {
      await db.end();
      await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    }
  },
};
