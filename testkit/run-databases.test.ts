// A vitest run's databases outlive their test files and go with the run: together at its end,
// or, when the run was killed first, at the start of the next one.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDatabase, databaseExists } from '../runtime/migrate.ts';
import { useTestEnv } from './harness.ts';
import { dropDatabasesOfEndedRuns, dropRunDatabases, ownedDatabasePrefix, runDatabasePrefix } from './run-databases.ts';

const env = useTestEnv();

describe('the databases of a vitest run', () => {
  it("are this file's own: its database is named for the run, and is still there when the file's instance is released", () => {
    expect(env.config.databaseUrl).toContain(`/${env.workbook.databasePrefix}`);
    expect(env.workbook.databasePrefix).toBe(runDatabasePrefix(Number(/^wb_run_(\d+)_$/.exec(env.workbook.databasePrefix)![1])));
  });

  it('drops those of a run, scenario or benchmark whose process is gone, keeps those of a run that goes on, and drops a run’s all at once at its end', async () => {
    const url = env.workbook.databaseUrl;
    // A process id that certainly ended: a child that ran and was reaped.
    const ended = spawnSync(process.execPath, ['-e', '0']).pid;
    const tag = randomBytes(3).toString('hex');
    // A killed `npm run chaos` or `bench` leaves its scenario's database as a killed vitest run leaves its files'.
    const gone = [
      `${runDatabasePrefix(ended)}${tag}_a`,
      `${runDatabasePrefix(ended)}${tag}_b`,
      `${ownedDatabasePrefix('chaos', ended)}${tag}`,
      `${ownedDatabasePrefix('bench', ended)}${tag}`,
    ];
    const livingScenario = `${ownedDatabasePrefix('chaos', process.ppid)}${tag}`;
    // process.ppid: the vitest run's main process, alive while this test runs, and not this run's prefix.
    const living = [`${runDatabasePrefix(process.ppid)}${tag}_x`, `${runDatabasePrefix(process.ppid)}${tag}_y`];
    try {
      for (const name of [...gone, ...living, livingScenario]) await createDatabase(url, name);
      const dropped = await dropDatabasesOfEndedRuns(url);
      expect(dropped, 'the databases of the ended run').toEqual(expect.arrayContaining(gone));
      for (const name of gone) expect(await databaseExists(url, name), `${name} dropped`).toBe(false);
      for (const name of [...living, livingScenario]) expect(await databaseExists(url, name), `${name} of a running process kept`).toBe(true);
      expect((await dropRunDatabases(url, `${runDatabasePrefix(process.ppid)}${tag}_`)).sort()).toEqual(living);
      for (const name of living) expect(await databaseExists(url, name), `${name} dropped at the run's end`).toBe(false);
    } finally {
      await dropRunDatabases(url, `${runDatabasePrefix(process.ppid)}${tag}_`);
      await dropRunDatabases(url, livingScenario);
    }
  });
});
