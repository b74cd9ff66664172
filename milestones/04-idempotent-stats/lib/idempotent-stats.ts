// Milestone 4's verdict: user_stats and the read model equal what bids and items say, every
// event published and consumed once. Its tests, chaos scenarios and the restore drill read it.
import type pg from 'pg';
import { createClient } from '@redis/client';
import { bidderColumn } from '#testkit/bidder-column.ts';
import type { Config } from '#runtime/config.ts';
import { consumerQueueDepths } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import { withPgClient } from '#runtime/pg-client.ts';

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
export async function readModelDifferences(
  databaseUrl: string,
  redisUrl: string,
  keyPrefix: string,
  itemIds: string[],
): Promise<Array<{ itemId: string; expected: string; actual: string }>> {
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
export async function waitForIdempotentStats(
  config: Config,
  itemIds: string[],
  options: { timeoutMs: number; check?: () => void },
): Promise<IdempotentStatsState> {
  const deadline = Date.now() + options.timeoutMs;
  let agreedBefore = false;
  for (;;) {
    options.check?.();
    const state = await idempotentStatsState(config, itemIds);
    const agreed =
      state.closed === state.items &&
      state.unpublished === 0 &&
      state.queued === 0 &&
      state.appliedOnce === state.events &&
      state.statsDifferences.length === 0 &&
      state.readModelDifferences.length === 0;
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
  return [
    `bids ${state.bids}`,
    `auctions closed ${state.closed} of ${state.items}`,
    ...middle,
    ...unfinished,
    `user_stats differences ${state.statsDifferences.length}`,
    `read model differences ${state.readModelDifferences.length}`,
  ].join(' · ');
}

/** Says what the state shows: events published and applied, and the first differences of each kind. */
export function describeIdempotentStats(state: IdempotentStatsState, say: (line: string) => void): void {
  say(
    `${state.events} events in the outbox, ${state.events - state.unpublished} published, ${state.appliedOnce} applied once by user-stats, ${state.queued} still queued, ${state.deadLettered} dead-lettered`,
  );
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
