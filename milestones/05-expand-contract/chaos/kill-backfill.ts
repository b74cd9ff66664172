// The backfill of bids.bidder_id dies twice while bids keep coming: once at its failpoint right
// after a batch committed, once by kill -9 at whatever line it was on. Each run must resume after
// the checkpoint of the last batch that committed; in the end every row is filled exactly once,
// and no bidder noticed.
import { hasBidderId } from '#testkit/bidder-column.ts';
import { fmt } from '#runtime/bench-stats.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { runMigrations } from '#runtime/migrate.ts';
import { seedAuctions } from '#testkit/seed.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { backfillSummary, readCheckpoint, startBackfill, type BackfillRun, type Checkpoint } from './lib/backfill-process.ts';
import { assertBiddingWritten, itemIds, lostBids, streamBids, tally } from './lib/bid-stream.ts';

const BIDS = 300_000;
const WORKERS = 6;
const BEFORE_EXPAND = '1764000000003_closing-and-stats';
const EXPAND = '1764000000004_expand-bidder-id';
/** The first run crashes right after its 8th batch committed (40,000 rows at 5,000 a batch). */
const CRASH_AT_BATCH = 8;
/** The second run is killed once it has moved the checkpoint this many times. */
const KILL_AFTER_BATCHES = 4;

const short = (id: string | undefined) => (id ? `${id.slice(0, 8)}…` : 'none');
const describe = (c: Checkpoint | undefined) => (c ? `last_id ${c.lastId}, rows_filled ${fmt(c.rowsFilled)}` : 'no checkpoint row');

export const scenario: ChaosScenario = {
  name: 'kill-backfill',
  milestone: 5,
  summary: `Seeds ${fmt(BIDS)} bids, expands bids with bidder_id while ${WORKERS} clients bid through an old (user-id) and a dual-write bid-service, then runs the backfill: it crashes at a failpoint after batch ${CRASH_AT_BATCH}, is killed with kill -9 mid-run, and is run again to the end. Every row must be filled once, each run resuming at its checkpoint, no bid failed or lost.`,
  async run(ctx) {
    const env = await ctx.instance({}, { migrateTo: BEFORE_EXPAND });
    const { database } = env;
    const oldConfig = { ...env.config, bidding: { ...env.config.bidding, bidderPhase: 'user-id' as const } };
    const newConfig = { ...env.config, bidding: { ...env.config.bidding, bidderPhase: 'dual-write' as const } };
    const services: ServiceProcess[] = [];
    // A backfill run is a child process of its own: killed (and waited for) on release.
    const backfill = (failpoints?: string): BackfillRun =>
      env.own(startBackfill({ tree: ctx.tree, config: newConfig, failpoints }), (r) => (r.kill(), r.exited), 'backfill run');
    const admin = await env.pgClient();
    ctx.say(`seeding ${fmt(BIDS)} bids (COPY)`);
    await seedAuctions({ databaseUrl: database.url, bids: BIDS });
    await admin.query('VACUUM ANALYZE bids');
    const items = await itemIds(database.url);
    services.push(await env.service('bid-service.ts', { config: oldConfig }));
    const bidders = env.own(
      streamBids({ services: () => services.map((s) => s.url), items, workers: WORKERS, pauseMs: 20 }),
      (b) => b.stop().catch(() => undefined),
      'bidders',
    );
    await sleep(1_000);
    assertBiddingWritten(bidders.answers);

    // Expand under load, with the old version running: the runner's lock_timeout and retries.
    ctx.say(`migrating to ${EXPAND} while the old version takes bids`);
    await runMigrations({
      databaseUrl: database.url,
      tree: ctx.tree,
      direction: 'up',
      to: EXPAND,
      attempts: 10,
      onRetry: ({ attempt }) => ctx.say(`expand gave up on its lock (attempt ${attempt}); retrying`),
    });
    const { rows: tables } = await admin.query(`SELECT to_regclass('backfill_checkpoints') IS NOT NULL AS exists`);
    if (!(await hasBidderId(admin)) || !tables[0].exists) {
      throw new Error(
        `${EXPAND} ran, but bids.bidder_id or backfill_checkpoints is not there: write the expand migration (milestones/05-expand-contract/README.md, step 1)`,
      );
    }
    const { rows: toFillRows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM bids WHERE bidder_id IS NULL');
    const toFill = Number(toFillRows[0]!.n);
    ctx.say(`${fmt(toFill)} rows to backfill; starting a dual-write bid-service beside the old one`);
    services.push(await env.service('bid-service.ts', { config: newConfig }));

    // Run 1: the failpoint right after a batch committed.
    const crashing = backfill(`backfill.after-batch=crash@${CRASH_AT_BATCH}`);
    const first = await crashing.exited;
    const afterCrash = await readCheckpoint(admin);
    ctx.say(
      `run 1 ended (${first.signal ?? `exit ${first.code}`}): ${crashing.output.find((l) => l.includes('failpoint')) ?? crashing.output.at(-1) ?? 'no output'}`,
    );
    ctx.say(`checkpoint after run 1: ${describe(afterCrash)}`);
    const crashed = first.signal === 'SIGKILL' && afterCrash !== undefined;
    if (!crashed)
      throw new Error(
        `the backfill did not die at its failpoint (${first.signal ?? `exit ${first.code}`}): ${crashing.output.slice(-3).join(' / ') || 'no output'}`,
      );

    // Run 2: kill -9 once it has moved the checkpoint a few times, at whatever line it is on.
    const killed = backfill();
    let moves = 0;
    let seen = afterCrash.lastId;
    let finishedFirst = false;
    void killed.exited.then(() => (finishedFirst = true));
    while (moves < KILL_AFTER_BATCHES && !finishedFirst) {
      await sleep(25);
      const now = await readCheckpoint(admin);
      if (now && now.lastId !== seen) {
        moves++;
        seen = now.lastId;
      }
    }
    await sleep(Math.random() * 100);
    killed.kill();
    const second = await killed.exited;
    const afterKill = await readCheckpoint(admin);
    const killedMidway = second.signal === 'SIGKILL' && backfillSummary(killed.output) === undefined;
    ctx.say(
      `run 2 ${killedMidway ? 'killed with kill -9 mid-run' : `was not killed mid-run (${second.signal ?? `exit ${second.code}`})`}; checkpoint: ${describe(afterKill)}`,
    );

    // Run 3: to the end, from the checkpoint.
    const { rows: allRows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM bids');
    const bidsAtLastRun = Number(allRows[0]!.n);
    const last = backfill();
    const third = await last.exited;
    const summary = backfillSummary(last.output);
    ctx.say(`run 3 (${third.signal ?? `exit ${third.code}`}): ${last.output.find((l) => l.includes('backfilled')) ?? last.output.slice(-3).join(' / ')}`);
    if (third.code !== 0 || !summary) throw new Error(`the last backfill run did not finish: ${last.output.slice(-3).join(' / ') || 'no output'}`);

    await sleep(1_000);
    const answers = await bidders.stop();
    assertBiddingWritten(answers);
    const final = await readCheckpoint(admin);
    const { rows } = await admin.query<{ bids: string; mismatched: string; missing: string }>(
      `SELECT count(*) AS bids,
              count(*) FILTER (WHERE bidder_id IS DISTINCT FROM user_id::text) AS mismatched,
              count(*) FILTER (WHERE bidder_id IS NULL) AS missing
         FROM bids`,
    );
    const counts = { bids: Number(rows[0]!.bids), mismatched: Number(rows[0]!.mismatched), missing: Number(rows[0]!.missing) };
    const bids = tally(answers);
    const failed = bids.busy + bids.other;
    const lost = await lostBids(database.url, answers);
    const resumed = summary.resumedAfter !== undefined && summary.scanned < bidsAtLastRun;
    const facts = {
      toFill,
      rowsFilled: final?.rowsFilled ?? 0,
      mismatched: counts.mismatched,
      missing: counts.missing,
      crashedAtFailpoint: crashed,
      checkpointAfterCrash: afterCrash.rowsFilled,
      killedMidway,
      checkpointAfterKill: afterKill?.rowsFilled ?? 0,
      resumedAfter: summary.resumedAfter ?? 'start',
      lastRunScanned: summary.scanned,
      bidsAtLastRun,
      bidsSent: bids.sent,
      bidsAccepted: bids.accepted,
      bidsTooLow: bids.tooLow,
      bidsFailed: failed,
      lost,
    };
    return {
      // rows_filled counts each row the backfill filled: equal to the rows left NULL by the expand
      // means no batch was lost to a death and none filled twice.
      ok: facts.rowsFilled === toFill && counts.mismatched === 0 && counts.missing === 0 && crashed && killedMidway && resumed && failed === 0 && lost === 0,
      line:
        `filled ${fmt(facts.rowsFilled)} of ${fmt(toFill)} · bidder_id ≠ user_id ${counts.mismatched} · ` +
        `died at failpoint crash@${CRASH_AT_BATCH} (checkpoint ${fmt(afterCrash.rowsFilled)}) and by kill -9 ${killedMidway ? `(checkpoint ${fmt(facts.checkpointAfterKill)})` : 'NOT mid-run'} · ` +
        `last run resumed after ${short(summary.resumedAfter)}, looked at ${fmt(summary.scanned)} of ${fmt(bidsAtLastRun)} rows · ` +
        `bids sent ${fmt(bids.sent)}: accepted ${fmt(bids.accepted)}, too low ${bids.tooLow}, failed ${failed} · lost ${lost}`,
      facts,
    };
  },
};
