// npm run seed -- --bids 1000000 [--items N]: loads realistic items and bids into
// DATABASE_URL with COPY, with a progress bar. Milestone 5 starts from a seeded table.
import { loadConfig } from '../../config.ts';
import { seedAuctions, SeedRefused } from '../../seed.ts';
import { fmt } from '../../bench-stats.ts';
import { LearnerError } from '../prepare.ts';
import { bold, dim, green, say } from '../ui.ts';

function optionValue(argv: string[], name: string): number | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const raw = argv[at + 1];
  const n = Number(raw);
  if (!raw || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new LearnerError(`${name} needs a whole number, got ${JSON.stringify(raw ?? '')}.`, `npm run seed -- ${name} 1000000`);
  return n;
}

/** "[#########-----------] 45%  450,000 of 1,000,000 bids · 180,000/s · about 3 s left" */
export function progressBar(done: number, total: number, elapsedS: number, width = 24): string {
  const share = total === 0 ? 1 : done / total;
  const filled = Math.round(share * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const left = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${fmt(done)} of ${fmt(total)} bids · ${fmt(Math.round(rate))}/s${left !== undefined && done < total ? ` · about ${left} s left` : ''}`;
}

export async function seedCommand(argv: string[]): Promise<number> {
  const bids = optionValue(argv, '--bids') ?? 1_000_000;
  const items = optionValue(argv, '--items');
  const config = loadConfig();
  say(bold(`Seeding ${fmt(bids)} bids into ${config.databaseUrl.replace(/:[^:@/]+@/, ':***@')}`) + dim(' (COPY, one transaction)'));
  const started = performance.now();
  const tty = process.stderr.isTTY;
  let lastTenth = -1;
  try {
    const result = await seedAuctions({
      databaseUrl: config.databaseUrl,
      bids,
      items,
      onProgress: (done, total) => {
        const line = progressBar(done, total, (performance.now() - started) / 1000);
        if (tty) process.stderr.write(`\r${line}`);
        else if (Math.floor((done / total) * 10) > lastTenth) {
          lastTenth = Math.floor((done / total) * 10);
          say(line);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    say(green(`Loaded ${fmt(result.items)} items and ${fmt(result.bids)} bids from ${fmt(result.bidders)} bidders in ${result.seconds.toFixed(1)} s.`));
    return 0;
  } catch (err) {
    if (tty) process.stderr.write('\n');
    if (err instanceof SeedRefused) throw new LearnerError(`Nothing was loaded: ${err.message}.`, 'npm run migrate, then npm run seed again');
    throw err;
  }
}
