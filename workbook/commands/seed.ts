// npm run seed -- --bids 1000000 [--items N]: loads realistic items and bids into
// DATABASE_URL with COPY, with a progress bar. Milestone 5 starts from a seeded table.
import { loadConfig } from '../../runtime/config.ts';
import { seedAuctions, SeedRefused } from '../../testkit/seed.ts';
import { fmt } from '../../runtime/bench-stats.ts';
import { progressReporter } from '../../runtime/progress-bar.ts';
import { LearnerError } from '../prepare.ts';
import { bold, dim, green, say } from '../ui.ts';

function optionValue(argv: string[], name: string): number | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const raw = argv[at + 1];
  const n = Number(raw);
  if (!raw || !/^\d+$/.test(raw) || !Number.isSafeInteger(n))
    throw new LearnerError(`${name} needs a whole number, got ${JSON.stringify(raw ?? '')}.`, `npm run seed -- ${name} 1000000`);
  return n;
}

export async function seedCommand(argv: string[]): Promise<number> {
  const bids = optionValue(argv, '--bids') ?? 1_000_000;
  const items = optionValue(argv, '--items');
  const config = loadConfig();
  say(bold(`Seeding ${fmt(bids)} bids into ${config.databaseUrl.replace(/:[^:@/]+@/, ':***@')}`) + dim(' (COPY, one transaction)'));
  const progress = progressReporter('bids');
  try {
    const result = await seedAuctions({
      databaseUrl: config.databaseUrl,
      bids,
      items,
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.end();
    say(green(`Loaded ${fmt(result.items)} items and ${fmt(result.bids)} bids from ${fmt(result.bidders)} bidders in ${result.seconds.toFixed(1)} s.`));
    return 0;
  } catch (err) {
    progress.end();
    if (err instanceof SeedRefused) throw new LearnerError(`Nothing was loaded: ${err.message}.`, 'npm run migrate, then npm run seed again');
    throw err;
  }
}
