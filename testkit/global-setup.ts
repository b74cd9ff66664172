// vitest global setup: find the services once per run and make sure the migrated template
// of the tree under test exists. Test files then clone it (testkit/harness.ts).
import type { TestProject } from 'vitest/node';
import { loadWorkbookSettings } from '../runtime/config.ts';
import { ensureTemplate } from '../runtime/migrate.ts';
import { dropDatabasesOfEndedRuns, dropRunDatabases, runDatabasePrefix } from './run-databases.ts';
import { exercisesDir, hashTree } from '../workbook/trees.ts';
import { resolveInfra } from './infra.ts';

export interface WorkbookContext {
  source: string;
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  tree: string;
  template: string;
  /** Every database a test file of this run creates starts with it; the run drops them together at its end. */
  databasePrefix: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    workbook: WorkbookContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const settings = loadWorkbookSettings();
  const infra = await resolveInfra(settings);
  const tree = settings.tree ?? exercisesDir;
  const template = await ensureTemplate({ databaseUrl: infra.databaseUrl, tree, migrationsHash: await hashTree(tree, ['migrations']) });
  // A run killed before its teardown left its databases: gone now, whoever's run it was.
  await dropDatabasesOfEndedRuns(infra.databaseUrl);
  const databasePrefix = runDatabasePrefix(process.pid);
  project.provide('workbook', {
    source: infra.source,
    databaseUrl: infra.databaseUrl,
    amqpUrl: infra.amqpUrl,
    redisUrl: infra.redisUrl,
    tree,
    template,
    databasePrefix,
  });
  return async () => {
    try {
      await dropRunDatabases(infra.databaseUrl, databasePrefix);
    } finally {
      await infra.stop?.();
    }
  };
}
