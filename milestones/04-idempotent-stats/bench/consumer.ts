// npm run bench -- consumer: the stats consumer's throughput on a backlog of BidPlaced
// messages, effects checked exactly once afterwards, next to two ceilings measured in the
// same run and over the same window: consuming and acking the same messages from the same
// kind of queue with no work, and pgbench running the consumer's effect in SQL at the
// consumer's concurrency.
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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

/**
 * Every figure is a rate over the same window: each run goes on for `warmupSeconds` first
 * (connections opened, caches and RabbitMQ's queue warm; not counted), then is counted for
 * `seconds`. The consumers drain a backlog published before they start, sized to outlast
 * the window. pgbench and the batched consumer, the pair the target compares, run `rounds`
 * times in alternating order (pgbench first, then the consumer first, …): the shared machine
 * drifts, and a figure taken later is not comparable with one taken earlier.
 * `--smoke`: end to end in seconds, no verdicts.
 */
const SIZES = {
  full: { warmupSeconds: 1, seconds: 5, rounds: 2, rawMessages: 60_000 },
  smoke: { warmupSeconds: 0, seconds: 1, rounds: 1, rawMessages: 500 },
};
/** The batched consumer's share of the lower ceiling it must reach. */
const TARGET_SHARE = 0.7;
const USERS = 100;
const POOL = 10;
const PREFETCH = 20;
/**
 * A consumer's backlog holds this many times what raw consume-and-ack did in as long as the
 * run: no consumer drains a queue faster than one that does no work.
 */
const BACKLOG_MARGIN = 1.2;
const script = fileURLToPath(new URL('./apply-stats.pgbench.sql', import.meta.url));
const userId = (u: number) => `00000000-0000-4000-8000-${String(u).padStart(12, '0')}`;

type StartConsumer = (deps: unknown) => Promise<{ stop(): Promise<void>; queue: string }>;
type QueueDeclarations = {
  consumerQueueOptions(deadLetterQueue: string): Options.AssertQueue;
  declareConsumerQueues(connection: { createChannel(): Promise<Channel> }, names: { queue: string; deadLetterQueue: string }, log: Logger): Promise<void>;
};
type Window = { warmupSeconds: number; seconds: number };
/**
 * A rate over the window, how long the window really was (shorter if the backlog ran out), and
 * for a consumer how long it took to handle its first message (what the warm-up leaves out).
 */
type Rate = { perSecond: number; seconds: number; startedAfterMs?: number };
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const list = (xs: number[]) => xs.map(fmt).join(' / ');

export const benchmark = {
  name: 'consumer',
  milestone: 4,
  summary: `Messages/s of the stats consumer draining a backlog of BidPlaced (prefetch ${PREFETCH}, pool ${POOL}), a transaction per message and in batches, next to raw consume-and-ack and pgbench running its effect, each over ${SIZES.full.seconds} s after ${SIZES.full.warmupSeconds} s of warm-up.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const window: Window = { warmupSeconds: size.warmupSeconds, seconds: size.seconds };
    const { database, config: base } = await ctx.instance();
    const config = { ...base, consumer: { ...base.consumer, prefetch: PREFETCH } };
    const log = createLogger({ name: 'bench', level: 'silent' });
    const db = createDb({ url: database.url, log, max: POOL });
    const connection = await amqp.connect(config.amqpUrl);
    // A broker that closes the connection (541 INTERNAL_ERROR seen once while deleting the
    // queues at the end) fails the call in progress; unheard, the event would end the process.
    connection.on('error', (err: Error) => ctx.say(`RabbitMQ closed the benchmark's connection: ${err.message}`));
    const channel = await connection.createConfirmChannel();
    const rows: string[] = [];
    const bars: Bar[] = [];
    let ok = true;
    const rawQueue = `${config.amqp.queuePrefix}bench-raw`;
    try {
      await channel.assertExchange(config.amqp.exchange, 'topic', { durable: true });
      let sequence = 0;
      const message = () => {
        const eventId = randomUUID();
        const payload = bidPlacedToProto({
          eventId,
          itemId: randomUUID(),
          bidId: randomUUID(),
          userId: userId(1 + (sequence++ % USERS)),
          amountCents: 1_000n,
          sequence: 1n,
          placedAt: new Date(),
          correlationId: 'bench',
        });
        return { eventId, payload: Buffer.from(payload) };
      };
      // Published with confirms, in chunks the broker confirms before the next (a backlog of
      // 60,000 unconfirmed messages would sit in this process's socket buffer instead).
      const backlog = async (count: number, publish: (m: ReturnType<typeof message>) => void) => {
        const started = performance.now();
        for (let sent = 0; sent < count; ) {
          for (const end = Math.min(count, sent + 2_000); sent < end; sent++) publish(message());
          await channel.waitForConfirms();
        }
        ctx.say(`  published ${fmt(count)} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      };
      const clean = () => db.query('TRUNCATE user_stats, processed_messages');

      const { consumerQueueOptions, declareConsumerQueues } = (await import(
        pathToFileURL(join(ctx.tree, 'src/consumers/consumer-queues.ts')).href
      )) as QueueDeclarations;
      // Ceiling 1: the same messages through the same kind of queue, acked with no work.
      ctx.say(`raw consume-and-ack: a backlog of ${fmt(size.rawMessages)}, prefetch ${PREFETCH}`);
      await channel.assertQueue(rawQueue, consumerQueueOptions(`${rawQueue}.dead`));
      await backlog(size.rawMessages, (m) => channel.sendToQueue(rawQueue, m.payload, { persistent: true, messageId: m.eventId, type: BID_PLACED }));
      const raw = await timeConsume(config.amqpUrl, rawQueue, size.rawMessages, window);
      await channel.deleteQueue(rawQueue); // and what is left in it, before the next runs
      ctx.say(`  ${fmt(raw.perSecond)}/s over ${raw.seconds.toFixed(1)} s`);

      // Ceiling 2: the consumer's effect in SQL, one transaction per message, at its concurrency.
      const pgbench = async (): Promise<Rate> => {
        await clean();
        const rate = runPgbench(database.url, window);
        ctx.say(`pgbench, the consumer's effect in SQL, ${POOL} clients: ${fmt(rate.perSecond)}/s over ${rate.seconds.toFixed(1)} s`);
        return rate;
      };

      // The consumer under test, on a backlog published before it starts: one transaction per
      // message, or (as it ships) batches of up to CONSUMER_BATCH_SIZE messages per transaction.
      const { queue } = queueNames(config, 'user-stats');
      await declareConsumerQueues(connection, queueNames(config, 'user-stats'), log);
      await channel.bindQueue(queue, config.amqp.exchange, BID_PLACED_ROUTING_KEY);
      const { startStatsConsumer } = (await import(pathToFileURL(join(ctx.tree, 'src/consumers/consumers.ts')).href)) as { startStatsConsumer: StartConsumer };
      const consume = async (batchSize: number, expected: number): Promise<Rate & { exact: string | undefined }> => {
        // Enough to outlast the window at the pace of raw consume-and-ack (`expected`).
        const messages = Math.max(500, Math.ceil(expected * (window.warmupSeconds + window.seconds) * BACKLOG_MARGIN));
        await clean();
        await backlog(messages, (m) =>
          channel.publish(config.amqp.exchange, BID_PLACED_ROUTING_KEY, m.payload, { persistent: true, messageId: m.eventId, type: BID_PLACED }),
        );
        const client = await createAmqp({ url: config.amqpUrl, log, name: 'bench-consumer' });
        await client.whenConnected();
        const metrics = createMetrics({ defaults: false });
        const counter = metrics.registry.getSingleMetric('auction_consumer_messages_total')!;
        const handled = async (outcome?: string) =>
          (await counter.get()).values.filter((v) => outcome === undefined || v.labels.outcome === outcome).reduce((s, v) => s + v.value, 0);
        const started = performance.now();
        const consumer = await startStatsConsumer({ db, amqp: client, log, metrics, config: { ...config, consumer: { ...config.consumer, batchSize } } });
        // CPU per message, this process and its PostgreSQL backends, over the window: on a
        // loaded machine a rate measures the share of the CPUs a run was given, this what it spent.
        let cpuFrom: { at: number; cpu: number } | undefined;
        const cpuNow = async () => ({ at: await handled(), cpu: cpuMicros(process.cpuUsage()) + (await backendsCpuMicros(db)) });
        const rate = await overWindow(
          async () => {
            if (!cpuFrom && performance.now() >= started + window.warmupSeconds * 1000) cpuFrom = await cpuNow();
            return handled();
          },
          messages,
          window,
          started,
        );
        const cpuTo = await cpuNow();
        const cpuPerMessageMs = cpuFrom && cpuTo.at > cpuFrom.at ? (cpuTo.cpu - cpuFrom.cpu) / 1000 / (cpuTo.at - cpuFrom.at) : Number.NaN;
        // Stopping settles the messages in hand; the rest go back to the queue unapplied, and
        // go: the next run starts with RabbitMQ as this one did.
        await consumer.stop();
        await client.close();
        await channel.purgeQueue(queue);
        // Exactly once: every message the consumer acked as applied recorded once and its bid
        // counted once, none acked otherwise (every id is new), none recorded without its ack.
        const applied = await handled('applied');
        const total = await handled();
        const { rows: check } = await db.query<{ processed: bigint; counted: bigint }>(
          `SELECT (SELECT count(*) FROM processed_messages) AS processed, (SELECT coalesce(sum(bids_placed), 0)::bigint FROM user_stats) AS counted`,
        );
        const { processed, counted } = check[0]!;
        const exact = total === applied && processed === BigInt(applied) && counted === BigInt(applied);
        const name = batchSize === 1 ? 'a transaction per message' : `batches of up to ${batchSize}`;
        ctx.say(
          `stats consumer, ${name}: ${fmt(rate.perSecond)}/s over ${rate.seconds.toFixed(1)} s (first message after ${fmt(rate.startedAfterMs ?? Number.NaN)} ms, CPU ${cpuPerMessageMs.toFixed(3)} ms per message in this process and its PostgreSQL backends, backlog ${fmt(messages)}, ${fmt(applied)} applied)`,
        );
        return { ...rate, exact: exact ? undefined : `NO: ${fmt(total)} acked, ${fmt(applied)} as applied, ${processed} recorded, ${counted} counted` };
      };

      // The pair the target compares, alternated: pgbench, consumer, consumer, pgbench, …
      const ceilings: Rate[] = [];
      const batched: Array<Awaited<ReturnType<typeof consume>>> = [];
      const shipped = config.consumer.batchSize;
      for (let round = 0; round < size.rounds; round++) {
        if (round % 2 === 0) {
          ceilings.push(await pgbench());
          batched.push(await consume(shipped, raw.perSecond));
        } else {
          batched.push(await consume(shipped, raw.perSecond));
          ceilings.push(await pgbench());
        }
      }
      const single = await consume(1, raw.perSecond);

      const tps = mean(ceilings.map((r) => r.perSecond));
      const ceiling = Math.min(raw.perSecond, tps);
      const windowNote = (rs: Rate[]) => {
        const short = rs.filter((r) => r.seconds < window.seconds - 0.05);
        return short.length ? ` (backlog ran out after ${short.map((r) => r.seconds.toFixed(1)).join(' / ')} s of the window)` : '';
      };
      rows.push(`| raw consume-and-ack, no work (ceiling) | ${fmt(raw.perSecond)}${windowNote([raw])} | – | – |`);
      bars.push({ label: 'raw consume-and-ack (ceiling)', value: Math.round(raw.perSecond), kind: 'ceiling' });
      rows.push(
        `| pgbench, the effect as one SQL transaction per message (ceiling) | ${fmt(tps)}${ceilings.length > 1 ? ` (${list(ceilings.map((r) => r.perSecond))})` : ''} | – | – |`,
      );
      bars.push({ label: 'pgbench, the effect in SQL (ceiling)', value: Math.round(tps), kind: 'ceiling' });
      for (const [name, runs, target] of [
        ['stats consumer, one transaction per message', [single], false],
        [`stats consumer, batches of up to ${shipped} per transaction (as shipped)`, batched, true],
      ] as const) {
        const rate = mean(runs.map((r) => r.perSecond));
        const wrong = runs.map((r) => r.exact).filter((e) => e !== undefined);
        const share = rate / ceiling;
        if (wrong.length > 0 || (target && share < TARGET_SHARE)) ok = false;
        const each =
          runs.length > 1
            ? ` (${list(runs.map((r) => r.perSecond))}; by round: ${runs.map((r, i) => `${((r.perSecond / ceilings[i]!.perSecond) * 100).toFixed(0)}%`).join(' / ')} of pgbench)`
            : '';
        rows.push(
          `| ${name} | ${fmt(rate)}${each}${windowNote([...runs])} | ${wrong.length === 0 ? `yes: ${runs.length > 1 ? 'every run: ' : ''}each message acked recorded once, its bid counted once` : wrong.join('; ')} | ${(share * 100).toFixed(0)}% of the lower ceiling${target ? ` (target ≥ ${TARGET_SHARE * 100}%: ${share >= TARGET_SHARE ? 'PASS' : 'FAIL'})` : ''} |`,
        );
        bars.push({ label: name, value: Math.round(rate), kind: 'measured', share });
      }
      return {
        ok,
        table: ['| consumed by | messages/s | effects exactly once | vs ceiling |', '|---|---|---|---|', ...rows],
        // Bars against the ceilings: both ceilings, then each way of consuming, labelled with its share of the lower one.
        report: barsAgainstCeiling(
          `Stats consumer, BidPlaced backlog, prefetch ${PREFETCH}, pool ${POOL}, ${window.seconds} s after ${window.warmupSeconds} s of warm-up: messages/s against the ceilings`,
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

/**
 * Polls `done()` (what has been handled so far) from `started` on, and returns the rate
 * between the end of the warm-up and the end of the window, or the moment the last of `total`
 * was handled if that came first.
 */
async function overWindow(done: () => number | Promise<number>, total: number, window: Window, started: number): Promise<Rate> {
  const from = started + window.warmupSeconds * 1000;
  const until = from + window.seconds * 1000;
  let first: { at: number; n: number } | undefined;
  let startedAfterMs = Number.NaN;
  for (;;) {
    const at = performance.now();
    const n = await done();
    if (n > 0 && Number.isNaN(startedAfterMs)) startedAfterMs = at - started;
    if (!first && at >= from) first = { at, n };
    if (first && (at >= until || n >= total)) return { perSecond: (n - first.n) / ((at - first.at) / 1000), seconds: (at - first.at) / 1000, startedAfterMs };
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

/** CPU time so far of the PostgreSQL backends serving this database, in microseconds; NaN unless PostgreSQL runs on this machine (/proc). */
async function backendsCpuMicros(db: { query: (sql: string) => Promise<{ rows: Array<{ pid: number }> }> }): Promise<number> {
  const { rows } = await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
  let ticks = 0;
  for (const { pid } of rows) {
    // PostgreSQL in a container or on another machine: no figure rather than a wrong one.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return Number.NaN;
    // Fields 14 and 15 (utime, stime), counted after the ")" that ends the command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}
/** Linux's USER_HZ, in which /proc counts CPU time. */
const CLOCK_TICKS_PER_SECOND = 100;

/** pgbench for the warm-up and the window; the rate from its per-second progress lines after the warm-up. */
function runPgbench(url: string, window: Window): Rate {
  const seconds = window.warmupSeconds + window.seconds;
  const run = spawnSync('pgbench', ['-n', '-c', String(POOL), '-j', '2', '-T', String(seconds), '-P', '1', '-D', `users=${USERS}`, '-f', script, url], {
    encoding: 'utf8',
  });
  // progress: 3.0 s, 3456.1 tps, lat 2.893 ms stddev 1.022, 0 failed
  const progress = [...run.stderr.matchAll(/progress: ([\d.]+) s, ([\d.]+) tps/g)].map((m) => ({ at: Number(m[1]), tps: Number(m[2]) }));
  const counted = progress.filter((p) => p.at > window.warmupSeconds);
  if (window.warmupSeconds > 0 && counted.length > 0) return { perSecond: mean(counted.map((p) => p.tps)), seconds: counted.length };
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(run.stdout)?.[1] ?? Number.NaN);
  if (Number.isNaN(tps)) throw new Error(`pgbench did not report tps: ${(run.stderr || run.stdout).slice(0, 500)}`);
  return { perSecond: tps, seconds };
}

/** Consumes a backlog of `count` messages from `queue`, acking each at once; the rate over the window. */
async function timeConsume(url: string, queue: string, count: number, window: Window): Promise<Rate> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    let seen = 0;
    const started = performance.now();
    await channel.consume(queue, (msg) => {
      if (!msg) return;
      channel.ack(msg);
      seen++;
    });
    return await overWindow(() => seen, count, window, started);
  } finally {
    await connection.close().catch(() => undefined);
  }
}
