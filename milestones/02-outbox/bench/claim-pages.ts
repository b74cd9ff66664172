// npm run bench -- claim-pages: the pages the relay's claim query reads (EXPLAIN (ANALYZE,
// BUFFERS)) with 100 pending rows and no published ones, then with a million published rows
// beside them, before and after VACUUM, and after the retention job deleted them.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { barsAgainstCeiling, fmt, type BenchContext } from '#runtime/bench-stats.ts';
import { createDb } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import { pagesReadByClaim, pendingIndexShape, pendingRows, publishedRows, vacuumedClaimAllowance } from '../claim-pages.ts';

/** The sizes of a real run, and of a smoke run (`--smoke`: end to end in seconds, no verdicts). */
const SIZES = { full: { published: 1_000_000 }, smoke: { published: 20_000 } };
const PENDING = 100;

export const benchmark = {
  name: 'claim-pages',
  milestone: 2,
  summary: `Pages one relay claim reads with ${fmt(PENDING)} pending rows, beside 0 and then ${fmt(SIZES.full.published)} published ones (before and after VACUUM).`,
  async run(ctx: BenchContext) {
    const size = SIZES[ctx.smoke ? 'smoke' : 'full'];
    const { database } = await ctx.instance({ logLevel: 'silent' });
    const db = createDb({ url: database.url, log: createLogger({ name: 'bench', level: 'silent' }) });
    const { claimBatch } = (await import(pathToFileURL(join(ctx.tree, 'src/outbox/claim-batch.ts')).href)) as typeof import('#app/outbox/claim-batch.ts');
    try {
      await pendingRows(db, PENDING);
      // Vacuumed like the last measure, so both see all-visible heap pages (locking a row on one also reads the visibility map).
      await db.query('VACUUM outbox');
      const none = await pagesReadByClaim(db, claimBatch);
      const shapeWithNone = await pendingIndexShape(db);
      ctx.say(`${fmt(PENDING)} pending, no published rows: ${none} pages. Writing ${fmt(size.published)} rows and marking them published…`);
      await publishedRows(db, size.published);
      const beforeVacuum = await pagesReadByClaim(db, claimBatch);
      const beforeVacuumAgain = await pagesReadByClaim(db, claimBatch);
      ctx.say('VACUUM outbox…');
      await db.query('VACUUM outbox');
      const vacuumed = await pagesReadByClaim(db, claimBatch);
      const { rows } = await db.query<{ size: string }>(`SELECT pg_size_pretty(pg_relation_size('outbox')) AS size`);
      // A B-tree keeps the levels it grew while it held the million dead entries, and a leaf or two under them (claim-pages.ts).
      const allowance = vacuumedClaimAllowance(none, shapeWithNone, await pendingIndexShape(db));
      const ok = allowance.emptied && vacuumed <= allowance.pages;
      return {
        ok,
        table: [
          `| outbox | pages one claim reads (shared hit + read) |`,
          `|---|---|`,
          `| ${fmt(PENDING)} pending, 0 published | ${none} |`,
          `| + ${fmt(size.published)} published, before VACUUM (first claim · second claim) | ${fmt(beforeVacuum)} · ${fmt(beforeVacuumAgain)} |`,
          `| + ${fmt(size.published)} published, after VACUUM (heap ${rows[0]?.size}) | ${vacuumed} ${ok ? 'PASS' : 'FAIL'} (target ≤ ${allowance.pages}: ${allowance.words}) |`,
        ],
        // The grey bar here is a floor: the pages a claim reads with no published rows at all.
        report: barsAgainstCeiling(
          `Pages one relay claim reads, ${fmt(PENDING)} pending rows`,
          'pages (shared hit + read)',
          [
            { label: '0 published', value: none, kind: 'ceiling' },
            { label: `${fmt(size.published)} published, 1st claim before VACUUM`, value: beforeVacuum, kind: 'measured' },
            { label: `${fmt(size.published)} published, 2nd claim before VACUUM`, value: beforeVacuumAgain, kind: 'measured' },
            { label: `${fmt(size.published)} published, after VACUUM`, value: vacuumed, kind: 'measured' },
          ],
          { log: true, ceilingName: 'floor (the target is judged against it)', values: true },
        ),
      };
    } finally {
      await db.end();
    }
  },
};
