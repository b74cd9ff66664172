// Building blocks of the chaos scenarios: a bounded load generator, a readiness sampler,
// and the verdict line every scenario ends with.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type pg from 'pg';
import type { Config } from './config.ts';
import { CONSUMERS, queueNames } from './queues.ts';
import type { Infra } from './test/infra.ts';
import { openInstance, type Instance } from './test/instance.ts';
import { withReleasers } from './test/releasers.ts';
import { withPgClient } from './pg-client.ts';

const execFileAsync = promisify(execFile);

export interface ChaosContext {
  tree: string;
  infra: Infra;
  template: string;
  /** Progress lines for the person watching. */
  say: (line: string) => void;
  /**
   * An isolated instance of the scenario's own (database, exchange, queues, Redis keys, config;
   * shared/test/instance.ts). It and everything it hands out are released, in reverse order,
   * when the scenario ends however it ends: a scenario writes no teardown. With `migrateTo`
   * the database is an empty one migrated up to and including that migration: a scenario that
   * plays a rollout starts before it (milestone 5's full chain drops bids.user_id).
   */
  instance(overrides?: Partial<Config>, options?: { migrateTo?: string }): Promise<Instance>;
}

/**
 * Runs `fn` (a scenario or a benchmark) with a context whose instances, and all they handed
 * out, are released when it ends, whatever failed.
 */
export function withScenarioContext<T>(base: Omit<ChaosContext, 'instance'>, kind: 'chaos' | 'bench', fn: (ctx: ChaosContext) => Promise<T>): Promise<T> {
  return withReleasers((releasers) =>
    fn({
      ...base,
      instance: (overrides = {}, options = {}) =>
        openInstance({ databaseUrl: base.infra.databaseUrl, amqpUrl: base.infra.amqpUrl, redisUrl: base.infra.redisUrl, template: base.template, tree: base.tree }, { kind, overrides, migrateTo: options.migrateTo }, releasers),
    }),
  );
}

export interface Verdict {
  ok: boolean;
  /** "placed 500 · in db 500 · lost 0 …" */
  line: string;
  facts: Record<string, number | string | boolean>;
  /**
   * For a verdict that is not ok: each thing that went wrong, as observed, with the next step
   * for that failure ("/readyz answered … Next: …"), one entry each. `npm run chaos` prints them
   * in place of its generic advice; a scenario without them gets the generic advice.
   */
  problems?: string[];
}

export interface ChaosScenario {
  name: string;
  milestone: number;
  summary: string;
  run(ctx: ChaosContext): Promise<Verdict>;
}

export interface LoadResult {
  sent: number;
  acknowledged: string[];
  failed: number;
  /** When each failed request ended (Date.now()), to tell failures during a fault from the others. */
  failedAt: number[];
}

/** Runs `request` from `workers` loops until `stop()` resolves or `maxRequests` is reached. */
export async function generateLoad(options: { workers: number; maxRequests: number; until: Promise<void>; request: () => Promise<string | undefined> }): Promise<LoadResult> {
  const result: Omit<LoadResult, 'failed'> = { sent: 0, acknowledged: [], failedAt: [] };
  let stopped = false;
  void options.until.then(() => (stopped = true));
  const loop = async () => {
    while (!stopped && result.sent < options.maxRequests) {
      result.sent++;
      try {
        const id = await options.request();
        if (id) result.acknowledged.push(id);
        else result.failedAt.push(Date.now());
      } catch {
        result.failedAt.push(Date.now());
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, loop));
  return { ...result, failed: result.failedAt.length };
}

/** Samples GET /readyz every `everyMs` until stopped; reports red time and whether it ended green. */
export function sampleReadiness(url: string, everyMs = 100) {
  const samples: Array<{ at: number; status: number }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const at = Date.now();
      const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status, () => 0);
      samples.push({ at, status });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await done;
      const red = samples.filter((s) => s.status !== 200);
      const firstRed = red[0]?.at;
      const greenAfter = firstRed === undefined ? undefined : samples.find((s) => s.at > firstRed && s.status === 200 && s.at > (red.at(-1)?.at ?? 0));
      return {
        wentRed: red.length > 0,
        cameBack: greenAfter !== undefined && samples.at(-1)?.status === 200,
        redSeconds: firstRed === undefined ? 0 : (((greenAfter?.at ?? Date.now()) - firstRed) / 1000),
      };
    },
  };
}

/**
 * Samples the resident memory of each process every `everyMs` (ps, so Linux and macOS) until
 * stopped; reports the peak of each, in MB. A process that is gone is skipped.
 */
export function samplePeakRss(pids: Record<string, () => number | undefined>, everyMs = 250) {
  const peakKb: Record<string, number> = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  let running = true;
  const done = (async () => {
    while (running) {
      for (const [name, pid] of Object.entries(pids)) {
        const id = pid();
        if (id === undefined) continue;
        const out = await execFileAsync('ps', ['-o', 'rss=', '-p', String(id)]).then((r) => r.stdout, () => '');
        const kb = Number(out.trim());
        if (Number.isFinite(kb) && kb > peakKb[name]!) peakKb[name] = kb;
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop(): Promise<Record<string, number>> {
      running = false;
      await done;
      return Object.fromEntries(Object.entries(peakKb).map(([name, kb]) => [name, Math.round(kb / 1024)]));
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** POST /items from `workers` loops until `stop()`; each 201 is an acknowledged write, by id. */
export function itemLoad(serviceUrl: string, options: { workers: number; maxRequests: number; title: string; startPriceCents: string | number }) {
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const endAt = new Date(Date.now() + 86_400_000).toISOString();
  const body = JSON.stringify({ title: options.title, startPriceCents: options.startPriceCents, endAt });
  const done = generateLoad({
    workers: options.workers,
    maxRequests: options.maxRequests,
    until,
    request: async () => {
      const res = await fetch(`${serviceUrl}/items`, { method: 'POST', body, signal: AbortSignal.timeout(5_000) });
      return res.status === 201 ? ((await res.json()) as { id: string }).id : undefined;
    },
  });
  return {
    async stop(): Promise<LoadResult> {
      stop();
      return done;
    },
  };
}

/** Gives /readyz a bounded chance to turn green again before a scenario judges it. */
export async function waitUntilReady(serviceUrl: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await fetch(`${serviceUrl}/readyz`).then((r) => r.status, () => 0)) !== 200) await sleep(200);
  await sleep(300);
}

/** How many of the acknowledged item ids are in the database, with their exact price. */
export async function itemsInDatabase(databaseUrl: string, ids: string[], startPriceCents: string): Promise<number> {
  if (ids.length === 0) return 0;
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE id = ANY($1::uuid[]) AND start_price_cents = $2::bigint', [ids, startPriceCents]);
    return Number(rows[0]?.n ?? 0);
  });
}

/**
 * Places `count` bids over HTTP, at most `perSecond` a second, from `concurrency` bidders.
 * Each item is bid on by one bidder at a time with rising amounts, so every bid is valid
 * under milestone 3's rules. Returns the ids of the acknowledged (201) bids.
 */
export async function placeBidsOverHttp(options: {
  serviceUrl: () => string;
  items: string[];
  count: number;
  perSecond?: number;
  concurrency?: number;
  onFailure?: (i: number, reason: string) => Promise<void> | void;
  /** Stops sending (before `count`) once aborted: a load that lasts a fixed time on a machine that may not keep the rate. */
  signal?: AbortSignal;
}): Promise<{ attempted: number; acknowledged: string[]; failed: number }> {
  const acknowledged: string[] = [];
  const concurrency = Math.min(options.concurrency ?? 1, options.items.length);
  const bidsOnItem = new Map<string, number>();
  let attempted = 0;
  let failed = 0;
  const started = Date.now();
  const interval = options.perSecond ? 1000 / options.perSecond : 0;
  const worker = async (w: number) => {
    const mine = options.items.filter((_, i) => i % concurrency === w);
    for (let k = 0; attempted < options.count && !options.signal?.aborted; k++) {
      const i = attempted++;
      if (interval) {
        const due = started + i * interval;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const itemId = mine[k % mine.length]!;
      const n = (bidsOnItem.get(itemId) ?? 0) + 1;
      bidsOnItem.set(itemId, n);
      const body = JSON.stringify({ userId: randomUUIDv4(), amountCents: String(1_000 * n) });
      const reason = await fetch(`${options.serviceUrl()}/items/${itemId}/bids`, { method: 'POST', body, signal: AbortSignal.timeout(5_000) }).then(
        async (res) => {
          if (res.status === 201) {
            acknowledged.push(((await res.json()) as { id: string }).id);
            return undefined;
          }
          return `HTTP ${res.status} ${await res.text()}`;
        },
        (err: Error) => err.message,
      );
      if (reason !== undefined) {
        failed++;
        await options.onFailure?.(i, reason);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return { attempted, acknowledged, failed };
}

const randomUUIDv4 = () => globalThis.crypto.randomUUID();

/** Open items for a scenario, written directly. */
export async function openItems(databaseUrl: string, n: number): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, end_at) SELECT 'chaos lot ' || g, 100, now() + interval '1 day' FROM generate_series(1, $1::int) AS g RETURNING id`,
      [n],
    );
    return rows.map((r) => r.id);
  });
}

/** What happened to every bid: in the database, delivered as an event, lost, duplicated. */
export async function deliveryVerdict(databaseUrl: string, delivered: Array<{ messageId: string; event: { bidId: string } }>) {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM bids');
    const inDb = new Set(rows.map((r) => r.id));
    const deliveredBids = new Set(delivered.map((m) => m.event.bidId));
    const lost = [...inDb].filter((id) => !deliveredBids.has(id)).length;
    const distinctMessages = new Set(delivered.map((m) => m.messageId)).size;
    return { inDb: inDb.size, published: deliveredBids.size, lost, duplicates: delivered.length - distinctMessages };
  });
}

/**
 * Waits until `read()` reaches `atLeast` (a relay may still be backing off) and then has not
 * changed for `quietMs` (late duplicates), all bounded by `timeoutMs`.
 */
export async function settle(read: () => number, options: { atLeast?: number; quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const { atLeast = 0, quietMs = 1_500, timeoutMs = 30_000 } = options;
  const deadline = Date.now() + timeoutMs;
  let last = read();
  let since = Date.now();
  while (Date.now() < deadline && (read() < atLeast || Date.now() - since < quietMs)) {
    await sleep(100);
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/**
 * Milestone 3's invariants on one item, read from the database: accepted bids rise by at least
 * the increment in sequence (commit) order, the item's highest bid and leader are the last
 * bid's, and each bid has exactly one outbox event. Returns the violations, one line each.
 */
export async function bidInvariantViolations(databaseUrl: string, itemId: string, minIncrementCents: bigint): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    const bidder = await bidderColumn(client);
    const { rows: bids } = await client.query<{ id: string; user_id: string; amount_cents: string; sequence: string }>(`SELECT id, ${bidder}::text AS user_id, amount_cents, sequence FROM bids WHERE item_id = $1 ORDER BY sequence`, [itemId]);
    const { rows: items } = await client.query<{ highest_bid_cents: string | null; leader_id: string | null }>('SELECT highest_bid_cents, leader_id FROM items WHERE id = $1', [itemId]);
    const { rows: events } = await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE aggregate_id = $1', [itemId]);
    const violations: string[] = [];
    bids.forEach((bid, i) => {
      if (BigInt(bid.sequence) !== BigInt(i + 1)) violations.push(`bid ${bid.id} has sequence ${bid.sequence}, expected ${i + 1}`);
      const previous = bids[i - 1];
      if (previous && BigInt(bid.amount_cents) < BigInt(previous.amount_cents) + minIncrementCents) {
        violations.push(`bid ${i + 1} (${bid.amount_cents}) does not beat bid ${i} (${previous.amount_cents}) by ${minIncrementCents}`);
      }
    });
    const last = bids.at(-1);
    if (last && (items[0]?.highest_bid_cents !== last.amount_cents || items[0]?.leader_id !== last.user_id)) {
      violations.push(`item shows ${items[0]?.highest_bid_cents} by ${items[0]?.leader_id}, the last accepted bid is ${last.amount_cents} by ${last.user_id}`);
    }
    if (Number(events[0]?.n) !== bids.length) violations.push(`${bids.length} bids but ${events[0]?.n} outbox events`);
    return violations;
  });
}

/** POSTs one bid; returns the HTTP status, and for a refusal its code ('bid_too_low', 'unavailable', …) and the minimum to beat. */
export async function postBid(serviceUrl: string, itemId: string, body: Record<string, unknown>): Promise<{ status: number; code?: string; minimumNextCents?: bigint }> {
  try {
    const res = await fetch(`${serviceUrl}/items/${itemId}/bids`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const json = (await res.json()) as { error?: { code?: string; minimumNextCents?: string } };
    return {
      status: res.status,
      ...(json.error?.code ? { code: json.error.code } : {}),
      ...(json.error?.minimumNextCents ? { minimumNextCents: BigInt(json.error.minimumNextCents) } : {}),
    };
  } catch (err) {
    return { status: 0, code: (err as Error).name };
  }
}

// ── Milestone 4: auctions that end during the run, and what user_stats and the read model
// must say about them afterwards. (These imports serve only the helpers below.)
import amqplib from 'amqplib';
import { createClient } from 'redis';
import { bidderColumn } from './bidder-column.ts';
import type { LogLine, ServiceProcess } from './test/service-process.ts';

/** `count` open items whose auctions end `firstEndsInMs` from now, then one every `everyMs`, by the database's clock. */
export async function itemsEndingSoon(databaseUrl: string, count: number, options: { firstEndsInMs: number; everyMs: number; startPriceCents?: bigint }): Promise<string[]> {
  return withPgClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, start_at, end_at)
       SELECT 'chaos lot ' || g, $2::bigint, now() - interval '1 minute', now() + make_interval(secs => ($3::int + (g - 1) * $4::int) / 1000.0)
         FROM generate_series(1, $1::int) AS g ORDER BY g RETURNING id`,
      [count, (options.startPriceCents ?? 1_000n).toString(), options.firstEndsInMs, options.everyMs],
    );
    return rows.map((r) => r.id);
  });
}

export interface AuctionLoadResult {
  accepted: number;
  tooLow: number;
  ended: number;
  /** Any other answer (5xx, no answer). */
  failed: number;
  /** Set when bid-service answered 501: the tree's bidding code is not written yet. */
  unimplemented?: string;
}

/**
 * The same `bidders` (user ids) bid on random open items, each outbidding the price last seen
 * by anyone, pausing about `pauseMs` between bids, until every auction refused a bid because it
 * ended (or `timeoutMs`, or `signal` aborts). Stops at once on a 501.
 */
export async function bidUntilAuctionsEnd(options: { serviceUrl: () => string; items: string[]; bidders: string[]; pauseMs: number; timeoutMs: number; startPriceCents?: bigint; incrementCents?: bigint; signal?: AbortSignal }): Promise<AuctionLoadResult> {
  const increment = options.incrementCents ?? 100n;
  const minimum = new Map(options.items.map((id) => [id, options.startPriceCents ?? 1_000n]));
  const open = new Set(options.items);
  const result: AuctionLoadResult = { accepted: 0, tooLow: 0, ended: 0, failed: 0 };
  const deadline = Date.now() + options.timeoutMs;
  const bidder = async (userId: string) => {
    await sleep(Math.random() * options.pauseMs);
    while (open.size > 0 && Date.now() < deadline && result.unimplemented === undefined && !options.signal?.aborted) {
      const itemId = [...open][Math.floor(Math.random() * open.size)]!;
      const amount = minimum.get(itemId)! + increment * BigInt(Math.floor(Math.random() * 3));
      const answer = await fetch(`${options.serviceUrl()}/items/${itemId}/bids`, { method: 'POST', body: JSON.stringify({ userId, amountCents: amount.toString() }), signal: AbortSignal.timeout(5_000) }).then(
        async (res) => ({ status: res.status, body: (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; minimumNextCents?: string } } }),
        () => ({ status: 0, body: {} as { error?: { code?: string; message?: string; minimumNextCents?: string } } }),
      );
      const error = answer.body.error;
      if (answer.status === 201) {
        result.accepted++;
        if (amount + increment > minimum.get(itemId)!) minimum.set(itemId, amount + increment);
      } else if (error?.code === 'bid_too_low') {
        result.tooLow++;
        const next = BigInt(error.minimumNextCents ?? '0');
        if (next > minimum.get(itemId)!) minimum.set(itemId, next);
      } else if (error?.code === 'auction_ended') {
        result.ended++;
        open.delete(itemId);
      } else if (answer.status === 501) {
        result.unimplemented = error?.message ?? 'HTTP 501';
      } else {
        result.failed++;
      }
      await sleep(options.pauseMs * (0.5 + Math.random()));
    }
  };
  await Promise.all(options.bidders.map(bidder));
  return result;
}

/** Users whose user_stats row differs from their stats computed from scratch over bids and items. */
export async function statsDifferences(databaseUrl: string): Promise<Array<{ user_id: string; expected: string; actual: string }>> {
  return withPgClient(databaseUrl, async (client) => {
    const bidder = await bidderColumn(client);
    const { rows } = await client.query<{ user_id: string; expected: string; actual: string }>(
      // Aggregated once per table, not once per user: a subquery per user scans bids per
      // user (the cast defeats any index), minutes on a seeded table (npm run restore-drill).
      `WITH placed AS (SELECT ${bidder}::uuid AS user_id, count(*) AS bids_placed FROM bids GROUP BY 1),
            won AS (SELECT winner_id AS user_id, count(*) AS auctions_won, sum(final_price_cents) AS total_spent_cents FROM items WHERE status = 'closed' AND winner_id IS NOT NULL GROUP BY 1),
            expected AS (
              SELECT u.user_id, coalesce(p.bids_placed, 0) AS bids_placed, coalesce(w.auctions_won, 0) AS auctions_won, coalesce(w.total_spent_cents, 0) AS total_spent_cents
                FROM (SELECT user_id FROM placed UNION SELECT user_id FROM user_stats) u
                LEFT JOIN placed p USING (user_id)
                LEFT JOIN won w USING (user_id)
            )
       SELECT e.user_id,
              concat_ws('/', e.bids_placed, e.auctions_won, e.total_spent_cents) AS expected,
              concat_ws('/', coalesce(s.bids_placed, 0), coalesce(s.auctions_won, 0), coalesce(s.total_spent_cents, 0)) AS actual
         FROM expected e LEFT JOIN user_stats s USING (user_id)
        WHERE (e.bids_placed, e.auctions_won, e.total_spent_cents) IS DISTINCT FROM (coalesce(s.bids_placed, 0), coalesce(s.auctions_won, 0), coalesce(s.total_spent_cents, 0))`,
    );
    return rows;
  });
}

/**
 * Items whose Redis hash (<keyPrefix>item:<id>) differs from what bids and items say: status,
 * price and leader of the last accepted bid, bid count, version (the item's last sequence).
 * A missing hash is a difference.
 */
export async function readModelDifferences(databaseUrl: string, redisUrl: string, keyPrefix: string, itemIds: string[]): Promise<Array<{ itemId: string; expected: string; actual: string }>> {
  return withPgClient(databaseUrl, async (client) => {
    const redis = createClient({ url: redisUrl });
    try {
      await redis.connect();
      return await differencesFromRedis(client, (key) => redis.hGetAll(key));
    } finally {
      if (redis.isOpen) await redis.quit().catch(() => undefined);
    }
  });
  async function differencesFromRedis(client: pg.Client, hash: (key: string) => Promise<Record<string, string>>) {
    const bidder = await bidderColumn(client);
    const { rows } = await client.query<{ id: string; expected: string }>(
      `SELECT i.id,
              concat_ws('/', i.status, coalesce(last.amount_cents::text, ''), coalesce(last.bidder::text, ''), (SELECT count(*) FROM bids b WHERE b.item_id = i.id), i.last_sequence) AS expected
         FROM items i
         LEFT JOIN LATERAL (SELECT amount_cents, b.${bidder} AS bidder FROM bids b WHERE b.item_id = i.id ORDER BY b.sequence DESC LIMIT 1) last ON true
        WHERE i.id = ANY($1::uuid[])`,
      [itemIds],
    );
    const differences: Array<{ itemId: string; expected: string; actual: string }> = [];
    for (const { id, expected } of rows) {
      const h = await hash(`${keyPrefix}item:${id}`);
      const actual = h.version === undefined ? '(missing)' : [h.status, h.price_cents, h.leader_id, h.bid_count, h.version].join('/');
      if (actual !== expected) differences.push({ itemId: id, expected, actual });
    }
    return differences;
  }
}

/** Messages ready in the consumers' queues, and in their dead-letter queues (a queue not declared counts 0). */
export async function consumerQueueDepths(config: Pick<Config, 'amqpUrl' | 'amqp'>): Promise<{ queued: number; deadLettered: number }> {
  const connection = await amqplib.connect(config.amqpUrl);
  try {
    const depth = async (queue: string) => {
      // checkQueue on a missing queue closes its channel: one channel per check.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        return (await channel.checkQueue(queue)).messageCount;
      } catch {
        return 0;
      } finally {
        await channel.close().catch(() => undefined);
      }
    };
    let queued = 0;
    let deadLettered = 0;
    for (const c of CONSUMERS) {
      const { queue, deadLetterQueue } = queueNames(config, c);
      queued += await depth(queue);
      deadLettered += await depth(deadLetterQueue);
    }
    return { queued, deadLettered };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** A log line saying that code is not written yet (a TodoError): the process will not converge. */
export const isTodoLine = (l: LogLine) => typeof l.todo === 'string' || (typeof l.err === 'string' && l.err.startsWith('TODO('));

/** What a process logged about code not written yet, if it did. */
export function loggedTodo(proc: ServiceProcess): string | undefined {
  const line = proc.logs.find(isTodoLine);
  return line && `${line.msg}: ${String(line.todo ?? line.err)}`;
}

/** Deliveries a worker's consumers found already applied (logged at debug level as 'message handled', outcome 'duplicate'), per consumer. */
export function duplicatesSkipped(workers: ServiceProcess[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const w of workers) for (const l of w.logs) if (l.msg === 'message handled' && l.outcome === 'duplicate') counts[String(l.consumer)] = (counts[String(l.consumer)] ?? 0) + 1;
  return counts;
}

export interface IdempotentStatsState {
  bids: number;
  items: number;
  closed: number;
  events: number;
  unpublished: number;
  /** Distinct messages the user-stats consumer recorded as applied. */
  appliedOnce: number;
  queued: number;
  deadLettered: number;
  statsDifferences: Array<{ user_id: string; expected: string; actual: string }>;
  readModelDifferences: Array<{ itemId: string; expected: string; actual: string }>;
}

/** Everything milestone 4's verdicts compare, read once. */
export async function idempotentStatsState(config: Config, itemIds: string[]): Promise<IdempotentStatsState> {
  type Counts = { bids: string; closed: string; events: string; unpublished: string; applied: string };
  const counts = await withPgClient(config.databaseUrl, async (client) => {
    const { rows } = await client.query<Counts>(
      `SELECT (SELECT count(*) FROM bids) AS bids,
              (SELECT count(*) FROM items WHERE id = ANY($1::uuid[]) AND status = 'closed') AS closed,
              (SELECT count(*) FROM outbox) AS events,
              (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished,
              (SELECT count(*) FROM processed_messages WHERE consumer = 'user-stats') AS applied`,
      [itemIds],
    );
    return rows[0]!;
  });
  const depths = await consumerQueueDepths(config);
  return {
    bids: Number(counts.bids),
    items: itemIds.length,
    closed: Number(counts.closed),
    events: Number(counts.events),
    unpublished: Number(counts.unpublished),
    appliedOnce: Number(counts.applied),
    ...depths,
    statsDifferences: await statsDifferences(config.databaseUrl),
    readModelDifferences: await readModelDifferences(config.databaseUrl, config.redisUrl, config.redis.keyPrefix, itemIds),
  };
}

/**
 * Polls idempotentStatsState until every auction is closed, every event published and
 * consumed, and user_stats and the read model agree with PostgreSQL on two reads in a row
 * (late duplicates must change nothing), or until `timeoutMs`. `check` may throw to stop at
 * once (a process logged unwritten code). Returns the last state read.
 */
export async function waitForIdempotentStats(config: Config, itemIds: string[], options: { timeoutMs: number; check?: () => void }): Promise<IdempotentStatsState> {
  const deadline = Date.now() + options.timeoutMs;
  let agreedBefore = false;
  for (;;) {
    options.check?.();
    const state = await idempotentStatsState(config, itemIds);
    const agreed = state.closed === state.items && state.unpublished === 0 && state.queued === 0 && state.appliedOnce === state.events && state.statsDifferences.length === 0 && state.readModelDifferences.length === 0;
    if ((agreed && agreedBefore) || Date.now() > deadline) return state;
    agreedBefore = agreed;
    await sleep(agreed ? 600 : 300);
  }
}

/** "bids 812 · auctions closed 20 of 20 · <middle> · user_stats differences 0 · read model differences 0", naming what is left unpublished, queued or dead-lettered. */
export function idempotentStatsLine(state: IdempotentStatsState, middle: string[]): string {
  const unfinished = [
    ...(state.unpublished > 0 ? [`unpublished ${state.unpublished}`] : []),
    ...(state.queued > 0 ? [`still queued ${state.queued}`] : []),
    ...(state.appliedOnce < state.events ? [`not yet applied by user-stats ${state.events - state.appliedOnce}`] : []),
    ...(state.deadLettered > 0 ? [`dead-lettered ${state.deadLettered}`] : []),
  ];
  return [`bids ${state.bids}`, `auctions closed ${state.closed} of ${state.items}`, ...middle, ...unfinished, `user_stats differences ${state.statsDifferences.length}`, `read model differences ${state.readModelDifferences.length}`].join(' · ');
}

/** Says what the state shows: events published and applied, and the first differences of each kind. */
export function describeIdempotentStats(state: IdempotentStatsState, say: (line: string) => void): void {
  say(`${state.events} events in the outbox, ${state.events - state.unpublished} published, ${state.appliedOnce} applied once by user-stats, ${state.queued} still queued, ${state.deadLettered} dead-lettered`);
  for (const d of state.statsDifferences.slice(0, 3)) say(`user_stats of ${d.user_id}: expected ${d.expected} (bids/won/spent), found ${d.actual}`);
  for (const d of state.readModelDifferences.slice(0, 3)) say(`read model of ${d.itemId}: expected ${d.expected}, found ${d.actual}`);
}

/** The verdict facts every milestone-4 scenario reports, the differences as counts. */
export function idempotentStatsFacts(state: IdempotentStatsState) {
  const { statsDifferences, readModelDifferences, ...counts } = state;
  return { ...counts, statsDifferences: statsDifferences.length, readModelDifferences: readModelDifferences.length };
}

/** Every auction closed, every event published and consumed (none dead-lettered), user_stats and the read model equal to what PostgreSQL says. */
export function idempotentStatsHeld(state: IdempotentStatsState): boolean {
  return (
    state.items > 0 &&
    state.closed === state.items &&
    state.unpublished === 0 &&
    state.queued === 0 &&
    state.deadLettered === 0 &&
    state.statsDifferences.length === 0 &&
    state.readModelDifferences.length === 0
  );
}
