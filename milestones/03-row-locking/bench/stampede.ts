import { coerceError } from '#runtime/coerce-error.ts';
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fmt, percentile, type BenchContext } from '#runtime/bench-stats.ts';
import { KeepAliveClient } from '#testkit/keep-alive-client.ts';
import { openItems } from '#testkit/scenario-data.ts';
import { bidInvariantViolations } from '../lib/bid-invariants.ts';
import { bidderColumn } from '#testkit/bidder-column.ts';
import { createDb } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import { runPlaceBidPgbench } from '../lib/place-bid-pgbench.ts';
import { describeStalls, watchStalls } from '#testkit/service-stalls.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = {
  full: { many: 256, few: 8, seconds: 10, warmupSeconds: 1 },
  smoke: { many: 16, few: 2, seconds: 1, warmupSeconds: 0 },
};
const TARGET = { answersVsPgbench8: 2, tooLowP99Ms: 25, acceptedP99Ms: 100 };
/**
 * A bidder pauses up to this long (uniformly, 50 ms on average) between an answer and its
 * next bid: 256 of them offer at most 5,120 bids/s. Without a pause the load is a closed loop,
 * and Little's law fixes the latency at clients ÷ answers/s whatever the service does (256
 * clients at 2,200 answers/s wait 116 ms on average): the latency targets could then only
 * measure the client count. With it, a service that keeps up answers fast, and one that does
 * not builds a queue that shows in the percentiles. The pause also caps answers/s, and the cap
 * must stay above the answers/s target or the benchmark measures its own clients: it was 0–200
 * ms, a cap of 2,560/s, until pgbench's 8-client ceiling rose to 1,400–1,570 tps once the bids
 * stopped notifying inside their transaction, and asked for 2,800–3,130 (offeredMax below).
 */
const THINK_MAX_MS = 100;
/** Connections left for everyone else on a shared server when pgbench takes the rest. */
const SPARE_CONNECTIONS = 25;

type Outcome = 'accepted' | 'too low' | 'busy' | 'failed';
interface Answer {
  /** Seconds since the measured run began, when the answer came. */
  t: number;
  ms: number;
  outcome: Outcome;
}

/**
 * `clients` bidders on one item for `seconds`, each bidding the minimum it was last told plus
 * up to two increments, pausing up to THINK_MAX_MS after each answer; the answers after
 * `warmupSeconds` are kept. A bidder told it leads
 * (201) bids again above its own bid, as a nervous bidder would; that keeps the load constant.
 */
async function stampede(options: { url: string; itemId: string; clients: number; seconds: number; warmupSeconds: number; incrementCents: bigint }) {
  const answers: Answer[] = [];
  // The service's own stalls (its event loop, its garbage collections), from its /metrics: a
  // tail that follows them is the process's, not the database's.
  const serviceWatch = await watchStalls(`${options.url}/metrics`);
  const errors = new Map<string, number>();
  // This process's own stalls: a client's answer read late is charged to the service.
  const ownDelay = monitorEventLoopDelay({ resolution: 1 });
  ownDelay.enable();
  const begin = performance.now();
  const measuredFrom = begin + options.warmupSeconds * 1000;
  const until = measuredFrom + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      const userId = randomUUID();
      // A connection of its own, kept open between bids as a browser keeps one; it idles at
      // most THINK_MAX_MS, far below the server's keep-alive timeout (5 s). Not node:http: what
      // the clients spend, the service they share two cores with loses (testkit/keep-alive-client.ts).
      const client = new KeepAliveClient(options.url, { timeoutMs: 10_000 });
      let minimum = 100n;
      while (performance.now() < until) {
        const amount = minimum + BigInt(Math.floor(Math.random() * Number(options.incrementCents * 2n + 1n)));
        const started = performance.now();
        let outcome: Outcome;
        try {
          const res = await client.postJson(`/items/${options.itemId}/bids`, JSON.stringify({ userId, amountCents: String(amount) }));
          const json = res.json as { error?: { code?: string; minimumNextCents?: string } };
          if (res.status === 201) {
            outcome = 'accepted';
            minimum = amount + options.incrementCents;
          } else if (json.error?.code === 'bid_too_low') {
            outcome = 'too low';
            if (json.error.minimumNextCents) minimum = BigInt(json.error.minimumNextCents);
          } else if (json.error?.code === 'unavailable' || json.error?.code === 'busy') outcome = 'busy';
          else {
            outcome = 'failed';
            const what = `HTTP ${res.status} ${json.error?.code ?? ''}`;
            errors.set(what, (errors.get(what) ?? 0) + 1);
          }
        } catch (err) {
          outcome = 'failed';
          const what = `${coerceError(err).name}: ${coerceError(err).message}`;
          errors.set(what, (errors.get(what) ?? 0) + 1);
        }
        const now = performance.now();
        if (started >= measuredFrom && now <= until) answers.push({ t: (now - measuredFrom) / 1000, ms: now - started, outcome });
        await new Promise((r) => setTimeout(r, Math.random() * THINK_MAX_MS));
      }
      client.close();
    }),
  );
  ownDelay.disable();
  const serviceStalls = await serviceWatch?.read();
  const of = (o: Outcome) =>
    answers
      .filter((a) => a.outcome === o)
      .map((a) => a.ms)
      .sort((a, b) => a - b);
  const accepted = of('accepted');
  const tooLow = of('too low');
  return {
    answers,
    errors,
    answersPerSecond: (answers.length - of('failed').length) / options.seconds,
    acceptedPerSecond: accepted.length / options.seconds,
    accepted,
    tooLow,
    busy: of('busy').length,
    failed: of('failed').length,
    /** The measuring process's event-loop delay, p99 in ms: what of the latencies is its own. */
    ownDelayP99Ms: ownDelay.percentile(99) / 1e6,
    /** The service's stalls during the run, warm-up included (undefined: its /metrics gave no Node.js defaults). */
    serviceStalls,
  };
}

/** pgbench on one item: transactions/s (each one an answer, accepted or refused) and their average latency. */
function pgbenchHotItem(databaseUrl: string, clients: number, seconds: number, bidder: string) {
  const run = runPlaceBidPgbench({ databaseUrl, clients, seconds, items: 1, bidder });
  return { tps: run.tps, latency: run.latencyAverageMs };
}

const ms = (sorted: number[]) => `p50 ${percentile(sorted, 50).toFixed(1)} ms · p99 ${percentile(sorted, 99).toFixed(1)} ms`;

/** The answers of a run in 250 ms windows per outcome: count and p50/p99, for the chart. */
function overTime(answers: Answer[], clients: number) {
  const windows = new Map<string, { t: number; outcome: Outcome; ms: number[] }>();
  for (const a of answers) {
    const t = Math.floor(a.t * 4) / 4;
    const key = `${t}|${a.outcome}`;
    const w = windows.get(key) ?? windows.set(key, { t, outcome: a.outcome, ms: [] }).get(key)!;
    w.ms.push(a.ms);
  }
  return [...windows.values()].map((w) => {
    const sorted = w.ms.sort((a, b) => a - b);
    return {
      clients,
      t: w.t,
      outcome: w.outcome,
      answers: sorted.length,
      p50_ms: +percentile(sorted, 50).toFixed(2),
      p99_ms: +percentile(sorted, 99).toFixed(2),
    };
  });
}

export const benchmark = {
  name: 'stampede',
  milestone: 3,
  summary: `${SIZES.full.many} clients bid on one item through bid-service over HTTP, most bids too low on arrival; next to pgbench's hot-item ceiling at ${SIZES.full.few} and ${SIZES.full.many} clients, and the same load from ${SIZES.full.few} clients.`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    // Released when the benchmark ends, however it ends: the instance, the pool, bid-service.
    const env = await ctx.instance();
    const { database, config } = env;
    const db = env.own(createDb({ url: database.url, log: createLogger({ name: 'bench', level: 'silent' }), max: 1 }), (d) => d.end(), 'pool');
    // Its one line per request is read but not kept: this process times the answers, and never
    // reads those lines (testkit/service-process.ts, keepLine).
    const service = await env.service('bid-service.ts', { keepLine: (line) => !line.endsWith('"msg":"request"}') });
    const [pgItem, fewItem, manyItem] = await openItems(database.url, 3);
    await db.query('CREATE TABLE bench_items (n int PRIMARY KEY, id uuid NOT NULL)');
    await db.query('INSERT INTO bench_items VALUES (1, $1)', [pgItem]);
    await db.query('CREATE SEQUENCE bench_amounts START 1000000000');
    const bidder = await bidderColumn(db);
    // pgbench's many clients are each a server connection: as many as the server has to spare, up to `many`.
    const { rows } = await db.query<{ max: number; used: number }>(
      `SELECT current_setting('max_connections')::int AS max, (SELECT count(*) FROM pg_stat_activity)::int AS used`,
    );
    const pgMany = Math.max(size.few, Math.min(size.many, rows[0]!.max - rows[0]!.used - SPARE_CONNECTIONS));
    ctx.say(`pgbench, hot item: ${size.few} clients, ${size.seconds} s`);
    const pgFew = pgbenchHotItem(database.url, size.few, size.seconds, bidder);
    ctx.say(
      `pgbench, hot item: ${pgMany} clients, ${size.seconds} s${pgMany < size.many ? ` (the server allows ${rows[0]!.max} connections, ${rows[0]!.used} in use)` : ''}`,
    );
    const pgLots = pgbenchHotItem(database.url, pgMany, size.seconds, bidder);

    const increment = config.bidding.minIncrementCents;
    ctx.say(`bid-service over HTTP, one item: ${size.few} clients, ${size.seconds} s`);
    const few = await stampede({
      url: service.url,
      itemId: fewItem!,
      clients: size.few,
      seconds: size.seconds,
      warmupSeconds: size.warmupSeconds,
      incrementCents: increment,
    });
    ctx.say(`bid-service over HTTP, one item: ${size.many} clients, ${size.seconds} s`);
    const many = await stampede({
      url: service.url,
      itemId: manyItem!,
      clients: size.many,
      seconds: size.seconds,
      warmupSeconds: size.warmupSeconds,
      incrementCents: increment,
    });
    const violations = {
      few: await bidInvariantViolations(database.url, fewItem!, increment),
      many: await bidInvariantViolations(database.url, manyItem!, increment),
    };
    for (const v of [...violations.few, ...violations.many].slice(0, 5)) ctx.say(`violation: ${v}`);
    for (const [run, r] of [
      ['8 clients', few],
      [`${size.many} clients`, many],
    ] as const)
      for (const [what, n] of [...r.errors].slice(0, 3)) ctx.say(`${run}: ${n} answers failed: ${what.slice(0, 160)}`);

    // What the clients can ask for at most: each bids once per pause (THINK_MAX_MS / 2 on average) plus its answer's time.
    const offeredMax = size.many / (THINK_MAX_MS / 2 / 1000);
    const answersTarget = TARGET.answersVsPgbench8 * pgFew.tps;
    const targets: Array<[string, boolean, string]> = [
      [
        `${size.many} clients can ask for more than the answers/s target: ${size.many} ÷ ${THINK_MAX_MS / 2} ms mean pause ≥ ${fmt(answersTarget)}`,
        offeredMax >= answersTarget,
        `${fmt(offeredMax)}/s`,
      ],
      [
        `${size.many} clients: answers/s ≥ ${TARGET.answersVsPgbench8}× pgbench at ${size.few} clients (${fmt(answersTarget)})`,
        many.answersPerSecond >= answersTarget,
        fmt(many.answersPerSecond),
      ],
      [
        `${size.many} clients: too-low p99 < ${TARGET.tooLowP99Ms} ms`,
        percentile(many.tooLow, 99) < TARGET.tooLowP99Ms,
        `${percentile(many.tooLow, 99).toFixed(1)} ms`,
      ],
      [
        `${size.many} clients: accepted p99 < ${TARGET.acceptedP99Ms} ms`,
        percentile(many.accepted, 99) < TARGET.acceptedP99Ms,
        `${percentile(many.accepted, 99).toFixed(1)} ms`,
      ],
      [`${size.many} clients: failed 0`, many.failed === 0, fmt(many.failed)],
      [`${size.many} clients: invariant violations 0`, violations.many.length === 0, String(violations.many.length)],
      // No regression at few clients: the same latency targets, nothing failed, nothing broken.
      [
        `${size.few} clients: accepted p99 < ${TARGET.acceptedP99Ms} ms, too-low p99 < ${TARGET.tooLowP99Ms} ms, failed 0, violations 0`,
        percentile(few.accepted, 99) < TARGET.acceptedP99Ms &&
          !(percentile(few.tooLow, 99) >= TARGET.tooLowP99Ms) &&
          few.failed === 0 &&
          violations.few.length === 0,
        `${percentile(few.accepted, 99).toFixed(1)} ms · ${percentile(few.tooLow, 99).toFixed(1)} ms · ${few.failed} · ${violations.few.length}`,
      ],
    ];
    const row = (who: string, r: typeof many, v: string[]) =>
      `| ${who} | ${fmt(r.answersPerSecond)} | ${fmt(r.acceptedPerSecond)} | ${r.tooLow.length ? ms(r.tooLow) : '–'} | ${r.accepted.length ? ms(r.accepted) : '–'} | ${fmt(r.busy)} | ${fmt(r.failed)} | ${v.length} |`;
    return {
      ok: targets.every(([, met]) => met),
      table: [
        '| one item, by | answers/s | accepted/s | too low | accepted | Busy | failed | invariant violations |',
        '|---|---|---|---|---|---|---|---|',
        `| pgbench, ${size.few} clients (ceiling) | ${fmt(pgFew.tps)} | – | – | avg ${pgFew.latency.toFixed(1)} ms | – | – | – |`,
        `| pgbench, ${pgMany} clients | ${fmt(pgLots.tps)} | – | – | avg ${pgLots.latency.toFixed(1)} ms | – | – | – |`,
        row(`bid-service over HTTP, ${size.few} clients`, few, violations.few),
        row(`bid-service over HTTP, ${size.many} clients`, many, violations.many),
        '',
        `Each client pauses 0–${THINK_MAX_MS} ms (uniform) between an answer and its next bid; pgbench's clients do not pause. One bid-service (pool of 10 connections), pgbench and these clients on the same machine, ${size.seconds} s each. The clients' own event loop (a late read of an answer counts in its latency): delay p99 ${few.ownDelayP99Ms.toFixed(1)} ms at ${size.few} clients, ${many.ownDelayP99Ms.toFixed(1)} ms at ${size.many}. bid-service's own stalls (its /metrics; warm-up included): at ${size.few} clients ${describeStalls(few.serviceStalls)}; at ${size.many} clients ${describeStalls(many.serviceStalls)}. Load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs when it ended.`,
        ...targets.map(([what, met, value]) => `${met ? 'met   ' : 'missed'}  ${what}: ${value}`),
      ],
      report: {
        data: [...overTime(few.answers, size.few), ...overTime(many.answers, size.many)],
        chart: {
          $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
          title: `One hot item: p99 latency of each 250 ms of answers, by outcome`,
          width: 560,
          height: 220,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'seconds into the run' },
            y: { field: 'p99_ms', type: 'quantitative', title: 'p99 latency (ms)' },
            color: { field: 'outcome', type: 'nominal', title: 'answer' },
            row: { field: 'clients', type: 'ordinal', title: 'concurrent clients' },
            tooltip: [{ field: 'answers' }, { field: 'p50_ms' }, { field: 'p99_ms' }],
          },
        },
      },
    };
  },
};
