// The one-line change milestone 5 replaces: ALTER COLUMN … TYPE on a table of a million bids
// while bidders keep bidding. It measures what every bidder sees while the table is rewritten
// under an ACCESS EXCLUSIVE lock. Nothing is lost; the price is availability.
import { randomInt, randomUUID } from 'node:crypto';
import pg from 'pg';
import { fmt, percentile } from '#shared/bench-stats.ts';
import { postBid, scenarioEnvironment, sleep, type ChaosScenario } from '#shared/chaos.ts';
import { seedAuctions } from '#shared/seed.ts';
import { startServiceProcess } from '#shared/test/service-process.ts';

const BIDS = 1_000_000;
const WORKERS = 8;

interface Answer {
  at: number;
  ms: number;
  status: number;
  code?: string;
}

export const scenario: ChaosScenario = {
  name: 'naive-alter',
  milestone: 5,
  summary: `Seeds ${fmt(BIDS)} bids, then runs ALTER TABLE bids ALTER COLUMN user_id TYPE text while ${WORKERS} clients bid over HTTP: how long writes are blocked, and what the bidders get meanwhile.`,
  async run(ctx) {
    const { database, config } = await scenarioEnvironment(ctx);
    ctx.say(`seeding ${fmt(BIDS)} bids (COPY)`);
    await seedAuctions({ databaseUrl: database.url, bids: BIDS });
    const { rows: itemRows } = await new pg.Pool({ connectionString: database.url, max: 1 }).query<{ id: string }>('SELECT id FROM items');
    const items = itemRows.map((r) => r.id);
    const service = await startServiceProcess({ tree: ctx.tree, entry: 'bid-service.ts', config });
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const answers: Answer[] = [];
    let stop = false;
    let amount = 100_000_000;
    const bidding = Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (!stop) {
          const started = performance.now();
          const answer = await postBid(service.url, items[randomInt(items.length)]!, { userId: randomUUID(), amountCents: String((amount += 100)) });
          answers.push({ at: started, ms: performance.now() - started, ...answer });
        }
      }),
    );
    try {
      await sleep(2_000);
      ctx.say('ALTER TABLE bids ALTER COLUMN user_id TYPE text');
      const alterStarted = performance.now();
      await admin.query('ALTER TABLE bids ALTER COLUMN user_id TYPE text');
      const alterEnded = performance.now();
      await sleep(2_000);
      stop = true;
      await bidding;

      const before = answers.filter((a) => a.at + a.ms < alterStarted);
      // Bids sent while the ALTER ran, however they ended.
      const during = answers.filter((a) => a.at >= alterStarted && a.at <= alterEnded);
      const accepted = answers.filter((a) => a.status === 201).sort((a, b) => a.at + a.ms - (b.at + b.ms));
      let longestGap = 0;
      for (let i = 1; i < accepted.length; i++) longestGap = Math.max(longestGap, accepted[i]!.at + accepted[i]!.ms - (accepted[i - 1]!.at + accepted[i - 1]!.ms));
      const count = (list: Answer[], pick: (a: Answer) => boolean) => list.filter(pick).length;
      const facts = {
        alterSeconds: Number(((alterEnded - alterStarted) / 1000).toFixed(1)),
        bidsBefore: before.length,
        p99BeforeMs: Math.round(percentile(before.map((a) => a.ms).sort((x, y) => x - y), 99)),
        bidsDuring: during.length,
        acceptedDuring: count(during, (a) => a.status === 201),
        busyDuring: count(during, (a) => a.status === 503),
        failedDuring: count(during, (a) => a.status !== 201 && a.status !== 503 && a.status !== 409),
        slowestDuringMs: Math.round(Math.max(0, ...during.map((a) => a.ms))),
        noBidAcceptedForSeconds: Number((longestGap / 1000).toFixed(1)),
      };
      const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM bids');
      const lost = BIDS + answers.filter((a) => a.status === 201).length - Number(rows[0]!.n);
      return {
        // Nothing may be lost; the refusals are what the lesson measures, not a failure of the scenario.
        ok: lost === 0,
        line:
          `ALTER took ${facts.alterSeconds} s on ${fmt(BIDS)} bids · before it: ${facts.bidsBefore} bids, p99 ${facts.p99BeforeMs} ms · ` +
          `sent while it ran: ${facts.bidsDuring} bids, accepted ${facts.acceptedDuring}, busy (503) ${facts.busyDuring}, other failures ${facts.failedDuring}, slowest ${facts.slowestDuringMs} ms · ` +
          `no bid accepted for ${facts.noBidAcceptedForSeconds} s · lost ${lost}`,
        facts: { ...facts, lost },
      };
    } finally {
      stop = true;
      await bidding.catch(() => undefined);
      await admin.end();
      await service.stop();
      await database.drop();
    }
  },
};
