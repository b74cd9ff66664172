// npm run restore-drill [-- --dump FILE | --backups DIR]: restores a backup into a scratch
// database next to DATABASE_URL and checks it against DATABASE_URL (workbook/restore-drill.ts).
// Without a file it makes a pg_dump of DATABASE_URL first, so the drill also runs on a laptop.
import { loadConfig } from '../../runtime/config.ts';
import { RestoreDrillRefused, restoreDrill } from '../restore-drill.ts';
import { LearnerError } from '../prepare.ts';
import { bold, dim, green, red, say } from '../ui.ts';

function optionValue(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (!value || value.startsWith('--'))
    throw new LearnerError(`${name} needs a path.`, `npm run restore-drill -- ${name} ${name === '--dump' ? './auction-20260101T000000Z.dump' : './backups'}`);
  return value;
}

export async function restoreDrillCommand(argv: string[]): Promise<number> {
  const dump = optionValue(argv, '--dump');
  const backupsDir = optionValue(argv, '--backups');
  const config = loadConfig();
  const source = config.databaseUrl.replace(/:[^:@/]+@/, ':***@');
  say(bold(`Restore drill against ${source}`));
  let report;
  try {
    report = await restoreDrill({
      sourceUrl: config.databaseUrl,
      dump,
      backupsDir,
      minIncrementCents: config.bidding.minIncrementCents,
      onStep: (step) => say(dim(`  ${step}`)),
    });
  } catch (err) {
    if (err instanceof RestoreDrillRefused)
      throw new LearnerError(`The restore drill could not run: ${err.message}.`, 'fix that, then npm run restore-drill again');
    throw err;
  }
  say(
    `  dump: ${report.dump.path} (${(report.dump.bytes / 1024 / 1024).toFixed(1)} MiB${report.dump.made ? ', made by this drill' : ''}); compared ${report.comparison === 'exact' ? 'exactly' : 'as a past state of the source'}`,
  );
  for (const t of report.tables) say(`  ${t.table.padEnd(28)} ${String(t.source).padStart(10)} in the source ${String(t.restored).padStart(10)} restored`);
  say(`  milestone 3 invariants on ${report.items} items; milestone 4 stats of every bidder`);
  if (report.sourceViolations > 0 || report.sourceStatsDifferences > 0) {
    say(
      dim(
        `  the source itself breaks ${report.sourceViolations} item invariants and ${report.sourceStatsDifferences} users' stats (seeded data has no outbox events and no stats); the restore must reproduce exactly that`,
      ),
    );
  }
  if (report.differences.length > 0) {
    say(red(`Restore drill FAILED in ${report.seconds.toFixed(1)} s: the restore differs from the source.`));
    for (const d of report.differences.slice(0, 20)) say(red(`  ${d}`));
    if (report.differences.length > 20) say(red(`  …and ${report.differences.length - 20} more`));
    say("Next: do not trust this backup. Check the backup service's log (docker compose logs backup) and run pg_restore --list on the file.");
    return 1;
  }
  say(green(`Restore drill passed in ${report.seconds.toFixed(1)} s: ${report.tables.length} tables and ${report.items} items agree with the source.`));
  return 0;
}
