// Per-test-file isolation (design §4): each file gets its own database cloned from the
// migrated template, its own exchange and queue names, its own Redis key prefix.
// The instance itself (names, config, release in reverse order) is the kit's: instance.ts.
import { afterAll, beforeAll, inject } from 'vitest';
import type { Config } from '../runtime/config.ts';
import { createDb, type Db } from '../runtime/db.ts';
import { createLogger, type Logger } from '../runtime/logger.ts';
import type { WorkbookContext } from './global-setup.ts';
import { openInstance } from './instance.ts';
import { Releasers } from './releasers.ts';
import { killServiceProcesses } from './service-process.ts';

export interface TestEnv {
  /** Config for an app instance that sees only this file's database, names and keys. */
  config: Config;
  /** A pool on this file's database (int8 read as bigint). */
  db: Db;
  log: Logger;
  /** The app tree under test (a folder with src/, migrations/ and deploy/). */
  tree: string;
  workbook: WorkbookContext;
  /** A fresh database migrated like this file's, for tests that change the schema. */
  scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }>;
  /** A fresh database migrated only up to and including `migration` (a file name without .sql). */
  databaseAt(migration: string): Promise<{ url: string; drop: () => Promise<void> }>;
}

/** Call once at the top of a test file; the returned object is filled in before the tests run. */
export function useTestEnv(): TestEnv {
  const env = {} as TestEnv;
  // Everything the file's instance hands out, released after its last test whatever failed.
  const releasers = new Releasers();
  beforeAll(async () => {
    const workbook = inject('workbook');
    const instance = await openInstance(
      { databaseUrl: workbook.databaseUrl, amqpUrl: workbook.amqpUrl, redisUrl: workbook.redisUrl, template: workbook.template, tree: workbook.tree },
      // The file's databases are dropped with the run's, together at its end (run-databases.ts).
      { kind: 'test', overrides: { logLevel: 'silent', healthTimeoutMs: 1_000 }, databasesDroppedWith: workbook.databasePrefix },
      releasers,
    );
    const log = createLogger({ name: 'test', level: 'silent' });
    Object.assign(env, {
      workbook,
      tree: workbook.tree,
      log,
      db: releasers.own(createDb({ url: instance.config.databaseUrl, log, applicationName: `test-${instance.id}` }), (db) => db.end(), "the test file's pool"),
      config: instance.config,
      scratchDatabase: () => instance.scratchDatabase(),
      databaseAt: (migration: string) => instance.databaseAt(migration),
    } satisfies TestEnv);
  });
  afterAll(async () => {
    // A test that failed before stopping the service processes it started itself must not leave them running.
    await killServiceProcesses();
    await releasers.release();
  });
  return env;
}
