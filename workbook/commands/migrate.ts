// npm run migrate: the learner's migrations applied to DATABASE_URL, up to the milestone they
// are on (a later milestone's migration is still a stub: applied now, it would be recorded as
// done and never run again once written), and a migration whose file changed since it was
// applied is refused with the fix (node-pg-migrate never runs an applied migration again).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type pg from 'pg';
import { loadConfig } from '../../runtime/config.ts';
import { createDatabase, databaseExists, databaseName, dropDatabase, MigrationFailed, runMigrations } from '../../runtime/migrate.ts';
import { milestones } from '../../milestones/manifest.ts';
import { LearnerError } from '../prepare.ts';
import { loadStore } from '../progress.ts';
import { exercisesDir, repoRoot, solutionsDir } from '../trees.ts';
import { bold, dim, say } from '../ui.ts';
import { withPgClient } from '../../runtime/pg-client.ts';

export interface MigrationFile {
  name: string;
  /** The milestone whose region the file holds (0: none, part of every milestone). */
  milestone: number;
  sha256: string;
}

/** A tree's migrations in order, each with its milestone (from its `-- #region mN` marker) and checksum. */
export async function migrationFiles(tree: string): Promise<MigrationFile[]> {
  const dir = join(tree, 'migrations');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (file) => {
      const text = await readFile(join(dir, file), 'utf8');
      return {
        name: file.replace(/\.sql$/, ''),
        milestone: Number(/^--\s*#region m(\d)/m.exec(text)?.[1] ?? 0),
        sha256: createHash('sha256').update(text).digest('hex'),
      };
    }),
  );
}

/**
 * The milestone the learner is on: the first one whose last run on exercises/ did not pass
 * (progress.json, written by npm run milestone:N), 1 before any run.
 */
export function currentMilestone(progress: Record<string, Record<string, { failed: number }>>, label = 'exercises'): number {
  const mine = progress[label] ?? {};
  const ready = milestones.filter((m) => m.ready);
  return ready.find((m) => !(mine[m.n] && mine[m.n]!.failed === 0))?.n ?? ready[ready.length - 1]!.n;
}

/** The last migration of milestones up to n: where `npm run migrate` stops. */
export function lastMigrationUpTo(files: MigrationFile[], n: number): string | undefined {
  return files.filter((f) => f.milestone <= n).at(-1)?.name;
}

// The checksum of each applied migration, beside node-pg-migrate's own table (pgmigrations).
const CHECKSUMS = 'workbook_migration_checksums';

/** Applied migrations (oldest first) with the checksum recorded when they ran, if any. */
export async function appliedMigrations(client: pg.Client): Promise<Array<{ name: string; sha256: string | null; ranAt: Date }>> {
  const exists = await client.query<{ t: string | null; c: string | null }>(
    `SELECT to_regclass('pgmigrations')::text AS t, to_regclass('${CHECKSUMS}')::text AS c`,
  );
  if (!exists.rows[0]!.t) return [];
  const withSums = exists.rows[0]!.c !== null;
  const { rows } = await client.query<{ name: string; sha256: string | null; run_on: Date }>(
    withSums
      ? `SELECT m.name, c.sha256, m.run_on FROM pgmigrations m LEFT JOIN ${CHECKSUMS} c USING (name) ORDER BY m.run_on, m.id`
      : `SELECT name, NULL AS sha256, run_on FROM pgmigrations ORDER BY run_on, id`,
  );
  return rows.map((r) => ({ name: r.name, sha256: r.sha256, ranAt: r.run_on }));
}

/** Records the checksums of the applied migrations that have none, and forgets those undone. */
export async function recordChecksums(client: pg.Client, files: MigrationFile[]): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${CHECKSUMS} (name text PRIMARY KEY, sha256 text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`);
  const applied = new Set((await appliedMigrations(client)).map((m) => m.name));
  await client.query(`DELETE FROM ${CHECKSUMS} WHERE name <> ALL($1::text[])`, [[...applied]]);
  for (const f of files.filter((x) => applied.has(x.name))) {
    await client.query(`INSERT INTO ${CHECKSUMS} (name, sha256) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [f.name, f.sha256]);
  }
}

/** Applied migrations whose file is not what ran (or is gone). */
export function changedSinceApplied(
  applied: Array<{ name: string; sha256: string | null }>,
  files: MigrationFile[],
): Array<{ name: string; why: 'changed' | 'missing' }> {
  const byName = new Map(files.map((f) => [f.name, f]));
  return applied.flatMap((a): Array<{ name: string; why: 'changed' | 'missing' }> => {
    const f = byName.get(a.name);
    if (!f) return [{ name: a.name, why: 'missing' }];
    return a.sha256 !== null && a.sha256 !== f.sha256 ? [{ name: a.name, why: 'changed' }] : [];
  });
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  return withPgClient(
    url,
    async (client) => {
      return await fn(client);
    },
    { connectionTimeoutMillis: 5_000 },
  );
}

export async function migrateCommand(argv: string[], flags: Set<string>): Promise<number> {
  const config = loadConfig();
  const tree = flags.has('--solution') ? solutionsDir : exercisesDir;
  const treeName = relative(repoRoot, tree);
  const name = databaseName(config.databaseUrl);
  if (flags.has('--fresh')) {
    await dropDatabase(config.databaseUrl, name);
    say(`Dropped database ${name} (--fresh): it is migrated from scratch now.`);
  }
  if (!(await databaseExists(config.databaseUrl, name))) {
    await createDatabase(config.databaseUrl, name);
    say(`Created database ${name}.`);
  }
  const direction = argv.includes('down') ? 'down' : 'up';
  // --to NAME (up to and including that migration) or --count N; the value is the word after the flag.
  const flagValue = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const count = flagValue('--count') === undefined ? undefined : Number(flagValue('--count'));
  if (count !== undefined && !(Number.isInteger(count) && count > 0))
    throw new LearnerError(`--count needs a whole number of migrations, got ${JSON.stringify(flagValue('--count'))}.`, 'npm run migrate -- down --count 1');

  const files = await migrationFiles(tree);
  const applied = await withClient(config.databaseUrl, appliedMigrations);
  const changed = changedSinceApplied(applied, files);
  if (changed.length) {
    const first = changed[0]!;
    const undo = applied.length - applied.findIndex((a) => a.name === first.name);
    const what =
      first.why === 'missing'
        ? `${treeName}/migrations/${first.name}.sql is gone, but the database ${name} has it applied`
        : `${treeName}/migrations/${first.name}.sql changed since it was applied to the database ${name}`;
    throw new LearnerError(
      `${what}. The database still has the old version, and an applied migration never runs again, so your change would never reach it.`,
      `npm run migrate -- --fresh   (drops the database ${name} and applies your migrations from scratch: it holds only what you put there by hand)\n` +
        `      or, to keep its data: npm run migrate -- down --count ${undo}   (undoes ${first.name}${undo > 1 ? ` and the ${undo - 1} after it` : ''} with ${undo > 1 ? 'their' : 'its'} Down ${undo > 1 ? 'sections' : 'section'}), then npm run migrate`,
    );
  }

  const all = flags.has('--all') || flags.has('--solution');
  const on = currentMilestone(await loadStore());
  let to = flagValue('--to');
  if (direction === 'up' && !to && count === undefined && !all) to = lastMigrationUpTo(files, on);
  const pendingBefore = new Set(files.map((f) => f.name).filter((n) => !applied.some((a) => a.name === n)));

  const ran = await runMigrations({
    databaseUrl: config.databaseUrl,
    tree,
    direction,
    ...(to ? { to } : {}),
    ...(count ? { count } : {}),
    ...config.migrations,
    onRetry: ({ attempt, attempts, delayMs, error }) =>
      say(`A lock was not granted in time (${error.message}); attempt ${attempt} of ${attempts} gave up, trying again in ${delayMs} ms.`),
  }).catch(async (err: unknown) => {
    if (!(err instanceof MigrationFailed)) throw err;
    const now = await withClient(config.databaseUrl, appliedMigrations).catch(() => []);
    await withClient(config.databaseUrl, (c) => recordChecksums(c, files)).catch(() => undefined);
    if (direction === 'down') {
      const stuck = now.at(-1)?.name ?? '(unknown)';
      throw new LearnerError(
        `Undoing ${stuck} failed: ${err.cause.message}. It is still applied; the migrations after it (if any) were undone.`,
        err.next ??
          `fix the Down Migration section of ${treeName}/migrations/${stuck}.sql (it must undo exactly what its Up Migration did), then npm run migrate -- down again`,
      );
    }
    const stuck = files.find((f) => pendingBefore.has(f.name) && !now.some((a) => a.name === f.name))?.name ?? '(unknown)';
    throw new LearnerError(
      `Applying ${stuck} failed: ${err.cause.message}. The migrations before it were applied; this one was not.`,
      err.next ?? `fix the Up Migration section of ${treeName}/migrations/${stuck}.sql, then npm run migrate again`,
    );
  });
  await withClient(config.databaseUrl, (c) => recordChecksums(c, files));

  const scope =
    direction === 'up' && !all && !flagValue('--to') && count === undefined
      ? ` (the migrations of milestones 1 to ${on}: you are on milestone ${on}; ${bold('-- --all')} applies the later ones, still stubs, too)`
      : '';
  if (ran.length) say(`${direction === 'up' ? 'Applied' : 'Undid'}: ${ran.join(', ')}${scope}`);
  else
    say(
      direction === 'up'
        ? `Nothing to migrate: the database ${name} is up to date${scope}.`
        : `Nothing to undo: no migration is applied to the database ${name}.`,
    );
  if (direction === 'up' && !all) {
    const later = files.filter((f) => f.milestone > on).length;
    if (later && !ran.length) say(dim(`${later} later migrations wait for their milestones.`));
  }
  return 0;
}
