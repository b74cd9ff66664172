// The one-line change milestone 5 replaces: ALTER COLUMN … TYPE on a table of a million bids
// while bidders keep bidding. It measures what every bidder sees while the table is rewritten
// under an ACCESS EXCLUSIVE lock. Nothing is lost; the price is availability.
import { readFile } from 'node:fs/promises';
import { fmt, percentile } from '#runtime/bench-stats.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { seedAuctions } from '#testkit/seed.ts';
import { answeredAt, assertBiddingWritten, itemIds, longestGapSeconds, lostBids, streamBids, type Answer } from './lib/bid-stream.ts';

const BIDS = 1_000_000;
const WORKERS = 8;
/** The last migration before milestone 5: bids.user_id is still a uuid (the full chain drops it). */
const BEFORE_EXPAND = '1764000000003_closing-and-stats';
/** The statement, in a file of its own so squawk can lint it. */
const NAIVE_SQL = new URL('./lib/naive-alter.sql', import.meta.url);

export const scenario: ChaosScenario = {
  name: 'naive-alter',
  milestone: 5,
  summary: `Seeds ${fmt(BIDS)} bids, then runs ALTER TABLE bids ALTER COLUMN user_id TYPE text (chaos/lib/naive-alter.sql) while ${WORKERS} clients bid over HTTP: how long writes are blocked, and what the bidders get meanwhile.`,
  async run(ctx) {
    const env = await ctx.instance({}, { migrateTo: BEFORE_EXPAND });
    const { database } = env;
    // The schema is the old one, so is the app: it writes user_id only.
    const config = { ...env.config, bidding: { ...env.config.bidding, bidderPhase: 'user-id' as const } };
    const admin = await env.pgClient();
    const naiveSql = await readFile(NAIVE_SQL, 'utf8');
    ctx.say(`seeding ${fmt(BIDS)} bids (COPY)`);
    await seedAuctions({ databaseUrl: database.url, bids: BIDS });
    // Fresh statistics and a visibility map, so every run starts from the same table.
    await admin.query('VACUUM ANALYZE bids');
    const items = await itemIds(database.url);
    const service = await env.service('bid-service.ts', { config });
    const url = service.url;
    const bidders = env.own(streamBids({ services: () => [url], items, workers: WORKERS }), (b) => b.stop().catch(() => undefined), 'bidders');
    await sleep(2_000);
    assertBiddingWritten(bidders.answers);
    ctx.say(
      naiveSql
        .split('\n')
        .find((l) => /^\s*ALTER/i.test(l))
        ?.trim() ?? 'the naive ALTER',
    );
    const alterStarted = performance.now();
    await admin.query(naiveSql);
    const alterEnded = performance.now();
    await sleep(2_000);
    const answers = await bidders.stop();
    const runEnded = performance.now();
    assertBiddingWritten(answers);

    const before = answers.filter((a) => answeredAt(a) < alterStarted);
    // Bids sent while the ALTER ran, however they ended.
    const during = answers.filter((a) => a.at >= alterStarted && a.at <= alterEnded);
    const count = (list: Answer[], pick: (a: Answer) => boolean) => list.filter(pick).length;
    const facts = {
      alterSeconds: Number(((alterEnded - alterStarted) / 1000).toFixed(1)),
      bidsBefore: before.length,
      p99BeforeMs: Math.round(
        percentile(
          before.map((a) => a.ms).sort((x, y) => x - y),
          99,
        ),
      ),
      bidsDuring: during.length,
      acceptedDuring: count(during, (a) => a.status === 201),
      busyDuring: count(during, (a) => a.status === 503),
      failedDuring: count(during, (a) => a.status !== 201 && a.status !== 503 && a.status !== 409),
      slowestDuringMs: Math.round(Math.max(0, ...during.map((a) => a.ms))),
      noBidAcceptedForSeconds: longestGapSeconds(answers, answers[0]?.at ?? alterStarted, runEnded),
    };
    const lost = await lostBids(database.url, answers);
    return {
      // Nothing may be lost; the refusals are what the lesson measures, not a failure of the scenario.
      ok: lost === 0,
      line:
        `ALTER took ${facts.alterSeconds.toFixed(1)} s on ${fmt(BIDS)} bids · before it: ${facts.bidsBefore} bids, p99 ${facts.p99BeforeMs} ms · ` +
        `sent while it ran: ${facts.bidsDuring} bids, accepted ${facts.acceptedDuring}, busy (503) ${facts.busyDuring}, other failures ${facts.failedDuring}, slowest ${facts.slowestDuringMs} ms · ` +
        `no bid accepted for ${facts.noBidAcceptedForSeconds.toFixed(1)} s · lost ${lost}`,
      facts: { ...facts, lost },
    };
  },
};
