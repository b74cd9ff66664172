// Per-test-file isolation (design §4): each file gets its own database cloned from the
// migrated template, its own exchange and queue names, its own Redis key prefix.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { join } from 'node:path';
import { DEV_JWKS_FILE, loadConfig, type Config } from '../config.ts';
import { createDb, type Db } from '../db.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createDatabase, createDatabaseAt, databaseUrlFor, dropDatabase } from '../migrate.ts';
import { deleteExchangeAndQueues } from '../queues.ts';
import { deleteRedisKeys } from '../redis.ts';
import type { WorkbookContext } from './global-setup.ts';
import { killServiceProcesses } from './service-process.ts';
import { repoRoot } from '../workbook/trees.ts';

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
  const id = randomBytes(4).toString('hex');
  const dbName = `wb_test_${id}`;
  beforeAll(async () => {
    const workbook = inject('workbook');
    await createDatabase(workbook.databaseUrl, dbName, workbook.template);
    const databaseUrl = databaseUrlFor(workbook.databaseUrl, dbName);
    const log = createLogger({ name: 'test', level: 'silent' });
    Object.assign(env, {
      workbook,
      tree: workbook.tree,
      log,
      db: createDb({ url: databaseUrl, log, applicationName: `test-${id}` }),
      // Dev sign-in on, with the repo's development key set (generated on first use, shared by
      // every file): tests sign in as named bidders (#shared/test/sign-in.ts).
      config: loadConfig({ AUTH_DEV_SIGN_IN: 'true', AUTH_JWKS_FILE: join(repoRoot, DEV_JWKS_FILE) }, {
        databaseUrl,
        amqpUrl: workbook.amqpUrl,
        redisUrl: workbook.redisUrl,
        amqp: { exchange: `wb.${id}.events`, queuePrefix: `wb.${id}.` },
        redis: { keyPrefix: `wb:${id}:` },
        logLevel: 'silent',
        healthTimeoutMs: 1_000,
      }),
      async scratchDatabase() {
        const name = `${dbName}_${randomBytes(2).toString('hex')}`;
        await createDatabase(workbook.databaseUrl, name, workbook.template);
        return { url: databaseUrlFor(workbook.databaseUrl, name), drop: () => dropDatabase(workbook.databaseUrl, name) };
      },
      databaseAt: (migration: string) => createDatabaseAt({ serverUrl: workbook.databaseUrl, name: `${dbName}_${randomBytes(2).toString('hex')}`, tree: workbook.tree, to: migration }),
    } satisfies TestEnv);
  });
  afterAll(async () => {
    // A test that failed before stopping its service processes must not leave them running.
    await killServiceProcesses();
    await env.db?.end();
    if (env.config) await deleteExchangeAndQueues(env.config);
    // This file's read model and anything else under its key prefix (the worker processes write there too).
    if (env.config) await deleteRedisKeys(env.config.redisUrl, env.config.redis.keyPrefix).catch(() => undefined);
    if (env.workbook) await dropDatabase(env.workbook.databaseUrl, dbName);
  });
  return env;
}
