// npm run bench -- migration: milestone 5's expand and backfill on 1,000,000 seeded bids while
// bids keep coming at a steady 200/s (the old version and the dual-writing one side by side),
// next to three measures taken in the same run on identical copies of the same seed: the
// backfill's UPDATE run back to back with no bids (the ceiling), runBackfill itself with no
// bids (what its pauses and its throttle cost when nothing needs the database), and the naive
// ALTER COLUMN … TYPE under the same load (the write stall the expand avoids).
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { fmt, percentile, type BenchContext } from '#runtime/bench-stats.ts';
import { openItems } from '#testkit/scenario-data.ts';
import { loadConfig, type BidderPhase, type Config } from '#runtime/config.ts';
import { createDb, type Db } from '#runtime/db.ts';
import { createLogger, type Logger } from '#runtime/logger.ts';
import { createDatabase, databaseUrlFor, dropDatabase, runMigrations } from '#runtime/migrate.ts';
import { seedAuctions } from '#testkit/seed.ts';
import { withPgClient } from '#runtime/pg-client.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = {
  full: { bids: 1_000_000, beforeBackfillSeconds: 10, beforeAlterSeconds: 3, afterSeconds: 2 },
  smoke: { bids: 20_000, beforeBackfillSeconds: 1, beforeAlterSeconds: 1, afterSeconds: 1 },
};
const PER_SECOND = 200;
/** Items per stream of bids; each stream has its own, so neither overtakes the other's bids. */
const ITEMS_PER_STREAM = 8;
/** Not counted: the pool opens its connections. */
const WARMUP_SECONDS = 1;
const BEFORE_M5 = '1764000000003_closing-and-stats';
const EXPAND = '1764000000004_expand-bidder-id';
const TARGET = { backfillSeconds: 300, p99Ms: 50, quietShareOfCeiling: 0.7 };
/** The chart's time step: each point is the p99 of the bids due in one such window. */
const WINDOW_MS = 500;

type PlaceBid = (deps: { db: Db; config: Config }, input: { itemId: string; userId: string; amountCents: string }) => Promise<unknown>;
interface BackfillProgress {
  scanned: number;
  retries: number;
  /** Batches slow enough to make the backfill yield (absent before the throttle). */
  yielded?: number;
  yieldedSeconds?: number;
}
type RunBackfill = (
  deps: { db: Db; log: Logger; config: Config },
  options: { onProgress?: (p: BackfillProgress) => void; signal?: AbortSignal },
) => Promise<BackfillProgress & { filled: number; seconds: number }>;

export const benchmark = {
  name: 'migration',
  milestone: 5,
  summary: `Expand + backfill of bids.bidder_id on ${fmt(SIZES.full.bids)} seeded bids while ${PER_SECOND} bids/s keep coming: backfill rows/s next to the same UPDATE run back to back, bid latency before and during, failed bids, and the naive ALTER's write stall.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const log = createLogger({ name: 'bench', level: 'silent' });
    const load = async <T>(file: string, name: string) => ((await import(pathToFileURL(join(ctx.tree, 'src', file)).href)) as Record<string, T>)[name]!;
    const placeBid = await load<PlaceBid>('bidding/place-bid.ts', 'placeBid');
    const runBackfill = await load<RunBackfill>('backfill/backfill.ts', 'runBackfill');
    const server = ctx.infra.databaseUrl;
    const base = `wb_bench_${randomBytes(4).toString('hex')}`;
    const names = { probe: `${base}_probe`, main: base, ceiling: `${base}_ceiling`, quiet: `${base}_quiet`, alter: `${base}_alter` };
    const urlOf = (name: string) => databaseUrlFor(server, name);
    const configFor = (name: string, bidderPhase: BidderPhase = 'user-id'): Config => {
      const config = loadConfig({}, { databaseUrl: urlOf(name) });
      return { ...config, bidding: { ...config.bidding, bidderPhase } };
    };
    const migrate = (name: string, to: string) => runMigrations({ databaseUrl: urlOf(name), tree: ctx.tree, direction: 'up', to });
    try {
      // Seeding takes half a minute: first make sure milestone 5's expand and backfill exist at all.
      ctx.say(`checking ${EXPAND} and runBackfill on an empty table`);
      await createDatabase(server, names.probe);
      await migrate(names.probe, EXPAND);
      if (!(await hasColumn(urlOf(names.probe), 'bids', 'bidder_id'))) {
        throw new Error(`after migrating ${relative(process.cwd(), join(ctx.tree, 'migrations'))} up to ${EXPAND}, bids has no column bidder_id`);
      }
      await withDb(urlOf(names.probe), log, 1, (db) => runBackfill({ db, log, config: configFor(names.probe) }, {}));
      await dropDatabase(server, names.probe);

      ctx.say(`seeding ${fmt(size.bids)} bids (COPY) at ${BEFORE_M5}, the schema before milestone 5`);
      await createDatabase(server, names.main);
      await migrate(names.main, BEFORE_M5);
      await seedAuctions({ databaseUrl: urlOf(names.main), bids: size.bids, onProgress: (n) => n % 250_000 === 0 && n < size.bids && ctx.say(`  ${fmt(n)}`) });
      await withClient(urlOf(names.main), (c) => c.query('VACUUM ANALYZE bids'));
      ctx.say('copying the seeded database three times: the ceiling, the backfill with no bids, the naive ALTER');
      await cloneDatabase(server, names.ceiling, names.main);
      await cloneDatabase(server, names.quiet, names.main);
      await cloneDatabase(server, names.alter, names.main);

      // Ceiling: the backfill's own statement (a keyset batch of the same size, filled by one
      // UPDATE) run back to back on an identical copy, with no pause, no checkpoint row and no
      // bids competing: as fast as this machine fills the column in batches of that size. Over
      // the whole table, as the backfill: measured over its first 200,000 rows only, it came out
      // at 70% of the backfill's own rate, a "ceiling" below what it bounds. (Likely cause, not
      // proven: right after CREATE DATABASE's checkpoint every first write to a page puts the
      // whole page in the WAL, and a short run is mostly first writes.)
      const { batchSize, pauseMs } = configFor(names.main).backfill;
      ctx.say(`ceiling: the same UPDATE in batches of ${fmt(batchSize)}, back to back, no bids, the whole table`);
      await migrate(names.ceiling, EXPAND);
      // A fresh copy starts with cold caches, and the backfill's database does not (it was just
      // seeded and vacuumed): read the table and its primary key once first, or the ceiling
      // measures the disk and comes out below the figure it bounds.
      const ceiling = await withClient(urlOf(names.ceiling), async (c) => {
        await c.query('SELECT count(*) FROM bids');
        await c.query('SELECT count(*) FROM (SELECT id FROM bids ORDER BY id) ids');
        return fillUnthrottled(c, batchSize);
      });
      await dropDatabase(server, names.ceiling);

      // runBackfill with no bids: its pauses and its throttle cost this much when nothing else
      // needs the database. A throttle that mistook noise for traffic would show here.
      ctx.say('runBackfill with no bids, on a third copy');
      await migrate(names.quiet, EXPAND);
      await withClient(urlOf(names.quiet), async (c) => {
        await c.query('SELECT count(*) FROM bids');
        await c.query('SELECT count(*) FROM (SELECT id FROM bids ORDER BY id) ids');
      });
      const quiet = await withDb(urlOf(names.quiet), log, 1, (db) => runBackfill({ db, log, config: configFor(names.quiet) }, {}));
      await dropDatabase(server, names.quiet);

      ctx.say(`expand: migrating up to ${EXPAND}`);
      await migrate(names.main, EXPAND);
      const backfill = await withDb(urlOf(names.main), log, 10, async (db) => {
        const items = await openItems(urlOf(names.main), 2 * ITEMS_PER_STREAM);
        const streams = [
          { place: placeBid, config: configFor(names.main, 'user-id'), items: items.slice(0, ITEMS_PER_STREAM) },
          { place: placeBid, config: configFor(names.main, 'dual-write'), items: items.slice(ITEMS_PER_STREAM) },
        ];
        ctx.say(`${PER_SECOND} bids/s (half the old version, half dual-write): ${size.beforeBackfillSeconds} s before the backfill`);
        const bids = startBidLoad(db, streams);
        try {
          await sleep((WARMUP_SECONDS + size.beforeBackfillSeconds) * 1000);
          ctx.say(`backfill (batches of ${fmt(batchSize)}, ${pauseMs} ms pauses) while the bids go on`);
          const started = performance.now();
          const signal = AbortSignal.timeout(TARGET.backfillSeconds * 1000);
          let last: BackfillProgress = { scanned: 0, retries: 0 };
          let quarter = 0;
          const onProgress = (p: BackfillProgress) => {
            last = p;
            if (p.scanned >= (quarter + 1) * (size.bids / 4) && ++quarter < 4)
              ctx.say(`  ${fmt(p.scanned)} rows, ${((performance.now() - started) / 1000).toFixed(0)} s`);
          };
          const result = await withDb(urlOf(names.main), log, 1, (backfillDb) =>
            runBackfill({ db: backfillDb, log, config: configFor(names.main) }, { onProgress, signal }).catch((err: Error) => {
              if (!signal.aborted) throw err;
              ctx.say(`  stopped at the ${TARGET.backfillSeconds} s target`);
              return undefined;
            }),
          );
          const ended = performance.now();
          await sleep(size.afterSeconds * 1000);
          const outcomes = await bids.stop();
          const { rows } = await db.query<{ n: bigint }>('SELECT count(*) AS n FROM bids WHERE bidder_id IS DISTINCT FROM user_id::text');
          return {
            rows: result?.scanned ?? last.scanned,
            seconds: result?.seconds ?? (ended - started) / 1000,
            retries: result?.retries ?? last.retries,
            yielded: result?.yielded ?? last.yielded ?? 0,
            yieldedSeconds: result?.yieldedSeconds ?? last.yieldedSeconds ?? 0,
            timeline: timeline(outcomes, started, bids.started + WARMUP_SECONDS * 1000),
            before: latencies(outcomes, bids.started + WARMUP_SECONDS * 1000, started),
            during: latencies(outcomes, started, ended),
            stall: longestStall(outcomes, started, ended),
            ...tally(outcomes),
            unfilled: Number(rows[0]!.n),
          };
        } finally {
          await bids.stop();
        }
      });

      // The naive change under the same load. At this schema there is no bidder_id yet, so both
      // streams run the old version.
      ctx.say(`naive: ALTER TABLE bids ALTER COLUMN user_id TYPE text, same ${PER_SECOND} bids/s`);
      const naive = await withDb(urlOf(names.alter), log, 10, async (db) => {
        const items = await openItems(urlOf(names.alter), 2 * ITEMS_PER_STREAM);
        const config = configFor(names.alter, 'user-id');
        const bids = startBidLoad(db, [
          { place: placeBid, config, items: items.slice(0, ITEMS_PER_STREAM) },
          { place: placeBid, config, items: items.slice(ITEMS_PER_STREAM) },
        ]);
        try {
          await sleep((WARMUP_SECONDS + size.beforeAlterSeconds) * 1000);
          const { started, ended, rows } = await withClient(urlOf(names.alter), async (c) => {
            const started = performance.now();
            await c.query('ALTER TABLE bids ALTER COLUMN user_id TYPE text');
            const ended = performance.now();
            return { started, ended, rows: Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM bids')).rows[0]!.n) };
          });
          await sleep(size.afterSeconds * 1000);
          const outcomes = await bids.stop();
          // Until the load stopped: the bids queued behind the ALTER are answered after it.
          return {
            rows,
            seconds: (ended - started) / 1000,
            timeline: timeline(outcomes, started, bids.started + WARMUP_SECONDS * 1000),
            before: latencies(outcomes, bids.started + WARMUP_SECONDS * 1000, started),
            during: latencies(outcomes, started, ended),
            stall: longestStall(outcomes, started, performance.now()),
            ...tally(outcomes),
          };
        } finally {
          await bids.stop();
        }
      });

      const p99During = percentile(backfill.during, 99);
      const quietShare = quiet.scanned / quiet.seconds / (ceiling.rows / ceiling.seconds);
      const targets = [
        [
          `backfill of ${fmt(backfill.rows)} rows ≤ ${TARGET.backfillSeconds} s`,
          backfill.seconds <= TARGET.backfillSeconds && backfill.rows >= size.bids,
          `${backfill.seconds.toFixed(1)} s`,
        ],
        [`bid p99 during the backfill < ${TARGET.p99Ms} ms`, p99During < TARGET.p99Ms, `${p99During.toFixed(1)} ms`],
        [
          `runBackfill with no bids ≥ ${TARGET.quietShareOfCeiling * 100}% of the ceiling`,
          quietShare >= TARGET.quietShareOfCeiling,
          `${(quietShare * 100).toFixed(0)}%`,
        ],
        ['failed bids 0', backfill.failed === 0, fmt(backfill.failed)],
        ['rows with bidder_id ≠ user_id::text afterwards 0', backfill.unfilled === 0, fmt(backfill.unfilled)],
      ] as const;
      const ms = (sorted: number[]) => `p50 ${percentile(sorted, 50).toFixed(1)} ms · p99 ${percentile(sorted, 99).toFixed(1)} ms`;
      const failed = (r: { failed: number; tooLow: number; reasons: string }) =>
        `${fmt(r.failed)}${r.reasons ? ` (${r.reasons})` : ''} · too low ${fmt(r.tooLow)}`;
      return {
        ok: targets.every(([, met]) => met),
        table: [
          '| change | rows | seconds | rows/s | ceiling rows/s | bids before | bids during | failed bids | longest write stall |',
          '|---|---|---|---|---|---|---|---|---|',
          `| runBackfill, no bids (a copy; batches of ${fmt(batchSize)}, ${pauseMs} ms pauses, yielded ${fmt(quiet.yielded ?? 0)} times) | ${fmt(quiet.scanned)} | ${quiet.seconds.toFixed(1)} | ${fmt(quiet.scanned / quiet.seconds)} (${(quietShare * 100).toFixed(0)}% of the ceiling) | ${fmt(ceiling.rows / ceiling.seconds)} | – | – | – | – |`,
          `| expand + runBackfill (batches of ${fmt(batchSize)}, ${pauseMs} ms pauses, yielded ${fmt(backfill.yielded)} times for ${backfill.yieldedSeconds.toFixed(1)} s${backfill.retries ? `, ${backfill.retries} retried` : ''}) | ${fmt(backfill.rows)} | ${backfill.seconds.toFixed(1)} | ${fmt(backfill.rows / backfill.seconds)} (${((backfill.rows / backfill.seconds / (ceiling.rows / ceiling.seconds)) * 100).toFixed(0)}% of the ceiling) | ${fmt(ceiling.rows / ceiling.seconds)} (the same UPDATE back to back, no bids, ${fmt(ceiling.rows)} rows) | ${ms(backfill.before)} | ${ms(backfill.during)} | ${failed(backfill)} | ${backfill.stall.toFixed(2)} s |`,
          `| naive ALTER COLUMN user_id TYPE text | ${fmt(naive.rows)} | ${naive.seconds.toFixed(1)} | ${fmt(naive.rows / naive.seconds)} | – | ${ms(naive.before)} | ${ms(naive.during)} | ${failed(naive)} | ${naive.stall.toFixed(2)} s |`,
          '',
          `${PER_SECOND} bids/s open loop over ${2 * ITEMS_PER_STREAM} items, latency from when each bid was due; during the backfill half the bids came from the old version (user-id), half dual-write. Load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs when it ended.`,
          `Targets: ${targets.map(([what, met, value]) => `${what}: ${value} ${met ? '✓' : '✗'}`).join(' · ')}`,
        ],
        report: {
          data: [
            ...backfill.timeline.map((p) => ({ ...p, change: 'expand + runBackfill' })),
            ...naive.timeline.map((p) => ({ ...p, change: 'naive ALTER COLUMN … TYPE' })),
          ],
          chart: {
            $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
            title: {
              text: `Bid latency (p99 per ${WINDOW_MS} ms) at ${PER_SECOND} bids/s while bids.user_id becomes text`,
              subtitle: `${fmt(backfill.rows)} rows; 0 s is when the change starts`,
            },
            width: 640,
            height: 320,
            mark: { type: 'line', interpolate: 'step-after', point: false },
            encoding: {
              x: { field: 'seconds', type: 'quantitative', title: 'seconds since the change started' },
              y: { field: 'p99Ms', type: 'quantitative', title: 'bid latency p99 (ms, log scale)', scale: { type: 'log' } },
              color: { field: 'change', type: 'nominal', title: null, legend: { orient: 'top', labelLimit: 400 } },
            },
          },
        },
      };
    } finally {
      for (const name of Object.values(names)) await dropDatabase(server, name).catch(() => undefined);
    }
  },
};

interface Stream {
  place: PlaceBid;
  config: Config;
  items: string[];
}

interface Outcome {
  /** performance.now() when the bid was due. */
  due: number;
  ms: number;
  result: 'accepted' | 'too-low' | 'failed';
  reason?: string;
}

/**
 * Bids at PER_SECOND, the streams taking turns, each bidding on its items in turn with amounts
 * rising by the minimum increment. Open loop: bid n is due at start + n / PER_SECOND whatever
 * became of the ones before, and its latency counts from then, so a stall is charged to every
 * bid that waited out (a closed loop would send fewer bids while stalled and hide it).
 */
function startBidLoad(db: Db, streams: Stream[]) {
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  const bidsOn = streams.map((s) => s.items.map(() => 0n));
  const started = performance.now();
  let stopped = false;
  const scheduling = (async () => {
    for (let n = 0; !stopped; n++) {
      const due = started + (n * 1000) / PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      const s = n % streams.length;
      const stream = streams[s]!;
      const k = Math.floor(n / streams.length) % stream.items.length;
      const amountCents = 1_000n + bidsOn[s]![k]!++ * stream.config.bidding.minIncrementCents;
      const bid: Promise<void> = stream
        .place({ db, config: stream.config }, { itemId: stream.items[k]!, userId: randomUUID(), amountCents: amountCents.toString() })
        .then(
          (): Omit<Outcome, 'due' | 'ms'> => ({ result: 'accepted' }),
          (err: Error): Omit<Outcome, 'due' | 'ms'> => (err.name === 'BidTooLow' ? { result: 'too-low' } : { result: 'failed', reason: reasonOf(err) }),
        )
        .then((o) => {
          outcomes.push({ due, ms: performance.now() - due, ...o });
          pending.delete(bid);
        });
      pending.add(bid);
    }
  })();
  return {
    started,
    async stop(): Promise<Outcome[]> {
      stopped = true;
      await scheduling;
      await Promise.all(pending);
      return outcomes;
    },
  };
}

/** The error's class, or for a plain Error its message ("timeout exceeded when trying to connect": no pool connection within 5 s). */
const reasonOf = (err: Error) =>
  err.name === 'Error' || err.name === 'error' ? err.message.replace('timeout exceeded when trying to connect', 'pool connection timeout') : err.name;

/**
 * The p99 latency of the bids due in each WINDOW_MS window from `from`, in seconds since
 * `zero` (when the change started), for the chart.
 */
function timeline(outcomes: Outcome[], zero: number, from: number): Array<{ seconds: number; p99Ms: number; bids: number }> {
  const windows = new Map<number, number[]>();
  for (const o of outcomes) {
    if (o.due < from) continue;
    const w = Math.floor((o.due - zero) / WINDOW_MS);
    (windows.get(w) ?? windows.set(w, []).get(w)!).push(o.ms);
  }
  return [...windows]
    .sort(([a], [b]) => a - b)
    .map(([w, ms]) => ({
      seconds: (w * WINDOW_MS) / 1000,
      p99Ms: Math.max(
        0.1,
        percentile(
          ms.sort((a, b) => a - b),
          99,
        ),
      ),
      bids: ms.length,
    }));
}

/** Latencies of the bids due in [from, to), ascending. */
const latencies = (outcomes: Outcome[], from: number, to: number) =>
  outcomes
    .filter((o) => o.due >= from && o.due < to)
    .map((o) => o.ms)
    .sort((a, b) => a - b);

/** Seconds of the longest stretch in [from, to] in which no bid was accepted (the edges count). */
function longestStall(outcomes: Outcome[], from: number, to: number): number {
  const answered = outcomes
    .filter((o) => o.result === 'accepted')
    .map((o) => o.due + o.ms)
    .filter((t) => t >= from && t <= to);
  const points = [from, ...answered.sort((a, b) => a - b), to];
  let longest = 0;
  for (let i = 1; i < points.length; i++) longest = Math.max(longest, points[i]! - points[i - 1]!);
  return longest / 1000;
}

/** Failed bids (anything but accepted or too low) with their most common reasons, and too low ones. */
function tally(outcomes: Outcome[]) {
  const reasons = new Map<string, number>();
  for (const o of outcomes) if (o.result === 'failed') reasons.set(o.reason!, (reasons.get(o.reason!) ?? 0) + 1);
  return {
    failed: outcomes.filter((o) => o.result === 'failed').length,
    tooLow: outcomes.filter((o) => o.result === 'too-low').length,
    reasons: [...reasons]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([reason, n]) => `${reason}: ${fmt(n)}`)
      .join(', '),
  };
}

/** The backfill's keyset UPDATE, batch after batch with nothing in between, over the whole table. */
async function fillUnthrottled(client: pg.Client, batchSize: number): Promise<{ rows: number; seconds: number }> {
  const started = performance.now();
  let afterId = '00000000-0000-0000-0000-000000000000';
  let rows = 0;
  for (;;) {
    const { rows: batch } = await client.query<{ last_id: string | null; scanned: string }>(
      `WITH batch AS (
         SELECT id FROM bids WHERE id > $1::uuid ORDER BY id LIMIT $2::int
       ), filled AS (
         UPDATE bids SET bidder_id = bids.user_id::text FROM batch WHERE bids.id = batch.id AND bids.bidder_id IS NULL RETURNING 1
       )
       SELECT (SELECT id FROM batch ORDER BY id DESC LIMIT 1) AS last_id, (SELECT count(*) FROM batch) AS scanned, (SELECT count(*) FROM filled) AS filled`,
      [afterId, batchSize],
    );
    if (batch[0]!.last_id === null) break;
    afterId = batch[0]!.last_id;
    rows += Number(batch[0]!.scanned);
  }
  return { rows, seconds: (performance.now() - started) / 1000 };
}

async function hasColumn(url: string, table: string, column: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const { rowCount } = await c.query(
      'SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2',
      [table, column],
    );
    return rowCount === 1;
  });
}

/**
 * A copy of a database no one is connected to. FILE_COPY: one checkpoint and a copy of the
 * files, instead of writing the whole copy to the WAL page by page (PostgreSQL 15's default).
 */
async function cloneDatabase(serverUrl: string, name: string, template: string): Promise<void> {
  await withClient(databaseUrlFor(serverUrl, 'postgres'), (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}" STRATEGY FILE_COPY`));
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withPgClient(url, async (client) => {
    return await fn(client);
  });
}

async function withDb<T>(url: string, log: Logger, max: number, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb({ url, log, max, applicationName: 'bench-migration' });
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}
