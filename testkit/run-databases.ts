// The databases of one vitest run: each test file clones its own from the template, and the run
// drops them all together at its end (global-setup.ts), not each file at its own end.
// PostgreSQL forces an immediate checkpoint for each DROP DATABASE, and the dropper waits for
// it: one drop per test file cost each file a second or two, and put a checkpoint about every
// second of npm test (every dirty page of every file written out, then a full-page image in
// the WAL for the first change of each page after it). Drops sent together share one or two.
import { databaseUrlFor, dropDatabase } from '../runtime/migrate.ts';
import { withPgClient } from '../runtime/pg-client.ts';
import { processRunning } from './process-running.ts';

/** The prefix of the databases of the run whose main process is `pid`: the id says whether the run still goes on. */
export const runDatabasePrefix = (pid: number) => `wb_run_${pid}_`;

/**
 * The prefix of the databases a scenario or benchmark of process `pid` opens (`wb_chaos_<pid>_…`,
 * `wb_bench_<pid>_…`). Each is dropped when its scenario ends; one that a killed `npm run chaos`
 * or `bench` left is swept, like a killed vitest run's, once its process is gone.
 */
export const ownedDatabasePrefix = (kind: 'chaos' | 'bench', pid: number) => `wb_${kind}_${pid}_`;

/** Every name the two prefixes above give, with the process id in its first group. */
const OWNED = '^wb_(?:run|chaos|bench)_([0-9]+)_';

const namesLike = (url: string, pattern: string) =>
  withPgClient(databaseUrlFor(url, 'postgres'), async (c) =>
    (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname ~ $1::text ORDER BY datname', [pattern])).rows.map((r) => r.datname),
  );

/** Drops every database named `prefix…`, all at once; returns their names. */
export async function dropRunDatabases(url: string, prefix: string): Promise<string[]> {
  const names = (await namesLike(url, `^${prefix.replace(/[^A-Za-z0-9_]/g, '\\$&')}`)).filter((name) => name.startsWith(prefix));
  await Promise.all(names.map((name) => dropDatabase(url, name)));
  return names;
}

/** Drops the databases of runs, scenarios and benchmarks whose process is gone (killed before their teardown ran); returns their names. */
export async function dropDatabasesOfEndedRuns(url: string): Promise<string[]> {
  const ended = (await namesLike(url, OWNED)).filter((name) => !processRunning(Number(new RegExp(OWNED).exec(name)![1])));
  await Promise.all(ended.map((name) => dropDatabase(url, name).catch(() => undefined)));
  return ended;
}
