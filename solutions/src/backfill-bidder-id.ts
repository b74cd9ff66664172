// npm run backfill: fills bids.bidder_id for the rows written before the expand migration,
// while the app keeps taking bids. Safe to stop (Ctrl-C, kill -9) and run again: it resumes
// after the last batch that committed.
import { ConfigError, serviceConfig } from '#runtime/config.ts';
import { createDb } from '#runtime/db.ts';
import { configureFailpoints } from '#runtime/failpoints.ts';
import { createLogger } from '#runtime/logger.ts';
import { progressReporter } from '#runtime/progress-bar.ts';
import { runBackfill } from './backfill/backfill.ts';
import { coerceError } from '#runtime/coerce-error.ts';

async function main(): Promise<void> {
  const config = serviceConfig('bid-worker');
  configureFailpoints(config.failpoints);
  const log = createLogger({ name: 'backfill', level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const db = createDb({ url: config.databaseUrl, log, applicationName: 'backfill' });
  const progress = progressReporter('rows');
  try {
    const fromStart = process.argv.includes('--from-start');
    const result = await runBackfill({ db, log, config }, { fromStart, onProgress: (p) => progress.update(p.scanned, p.total) });
    progress.end();
    const from = result.resumedAfter === '00000000-0000-0000-0000-000000000000' ? 'from the start' : `resumed after ${result.resumedAfter}`;
    console.log(
      `bids.bidder_id backfilled ${from} in ${result.seconds.toFixed(1)} s: ${result.scanned} rows looked at, ${result.filled} filled, ` +
        `${Math.round(result.rowsPerSecond)} rows/s, ${result.batches} batches, ${result.retries} retried on a lock.`,
    );
  } finally {
    progress.end();
    await db.end();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`backfill cannot start: ${err.message}`);
  else if ((err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '42703')
    console.error(
      `backfill found no bids.bidder_id or backfill_checkpoints: ${coerceError(err).message}\nRun the expand migration first: npm run migrate -- --to 1764000000004_expand-bidder-id`,
    );
  else
    console.error(
      `backfill failed: ${coerceError(err).message}\nRun it again: it resumes after the last batch that committed. \`npm run doctor\` checks the services.`,
    );
  process.exit(1);
});
