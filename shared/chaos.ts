// Building blocks of the chaos scenarios: a bounded load generator, a readiness sampler,
// and the verdict line every scenario ends with.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from './config.ts';
import { createDatabase, databaseUrlFor, dropDatabase } from './migrate.ts';
import type { Infra } from './test/infra.ts';

export interface ChaosContext {
  tree: string;
  infra: Infra;
  template: string;
  /** Progress lines for the person watching. */
  say: (line: string) => void;
}

export interface Verdict {
  ok: boolean;
  /** "placed 500 · in db 500 · lost 0 …" */
  line: string;
  facts: Record<string, number | string | boolean>;
}

export interface ChaosScenario {
  name: string;
  milestone: number;
  summary: string;
  run(ctx: ChaosContext): Promise<Verdict>;
}

/** A database of its own for one scenario, cloned from the tree's template. */
export async function scenarioDatabase(ctx: ChaosContext): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `wb_chaos_${randomBytes(4).toString('hex')}`;
  await createDatabase(ctx.infra.databaseUrl, name, ctx.template);
  return { name, url: databaseUrlFor(ctx.infra.databaseUrl, name), drop: () => dropDatabase(ctx.infra.databaseUrl, name) };
}

export function scenarioConfig(base: Config, overrides: Partial<Config>): Config {
  return { ...base, healthTimeoutMs: 500, ...overrides };
}

/** A database and an exchange of the scenario's own, and the config that points at them. */
export async function scenarioEnvironment(ctx: ChaosContext, overrides: Partial<Config> = {}) {
  const database = await scenarioDatabase(ctx);
  const exchange = `wb.chaos.${randomBytes(3).toString('hex')}.events`;
  const config = scenarioConfig(loadConfig({}), {
    databaseUrl: database.url,
    amqpUrl: ctx.infra.amqpUrl,
    redisUrl: ctx.infra.redisUrl,
    amqp: { exchange, queuePrefix: `${exchange}.` },
    ...overrides,
  });
  return { database, exchange, config };
}

export interface LoadResult {
  sent: number;
  acknowledged: string[];
  failed: number;
}

/** Runs `request` from `workers` loops until `stop()` resolves or `maxRequests` is reached. */
export async function generateLoad(options: { workers: number; maxRequests: number; until: Promise<void>; request: () => Promise<string | undefined> }): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, acknowledged: [], failed: 0 };
  let stopped = false;
  void options.until.then(() => (stopped = true));
  const loop = async () => {
    while (!stopped && result.sent < options.maxRequests) {
      result.sent++;
      try {
        const id = await options.request();
        if (id) result.acknowledged.push(id);
        else result.failed++;
      } catch {
        result.failed++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, loop));
  return result;
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
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM items WHERE id = ANY($1::uuid[]) AND start_price_cents = $2::bigint', [ids, startPriceCents]);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
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
    for (let k = 0; attempted < options.count; k++) {
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
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, end_at) SELECT 'chaos lot ' || g, 100, now() + interval '1 day' FROM generate_series(1, $1::int) AS g RETURNING id`,
      [n],
    );
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

/** What happened to every bid: in the database, delivered as an event, lost, duplicated. */
export async function deliveryVerdict(databaseUrl: string, delivered: Array<{ messageId: string; event: { bidId: string } }>) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM bids');
    const inDb = new Set(rows.map((r) => r.id));
    const deliveredBids = new Set(delivered.map((m) => m.event.bidId));
    const lost = [...inDb].filter((id) => !deliveredBids.has(id)).length;
    const distinctMessages = new Set(delivered.map((m) => m.messageId)).size;
    return { inDb: inDb.size, published: deliveredBids.size, lost, duplicates: delivered.length - distinctMessages };
  } finally {
    await client.end();
  }
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
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: bids } = await client.query<{ id: string; user_id: string; amount_cents: string; sequence: string }>('SELECT id, user_id, amount_cents, sequence FROM bids WHERE item_id = $1 ORDER BY sequence', [itemId]);
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
  } finally {
    await client.end();
  }
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
