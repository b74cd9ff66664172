// vitest global setup: find the services once per run and make sure the migrated template
// of the tree under test exists. Test files then clone it (testkit/harness.ts).
import type { TestProject } from 'vitest/node';
import { loadWorkbookSettings } from '../runtime/config.ts';
import { ensureTemplate } from '../runtime/migrate.ts';
import { exercisesDir, hashTree } from '../workbook/trees.ts';
import { resolveInfra } from './infra.ts';

export interface WorkbookContext {
  source: string;
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  tree: string;
  template: string;
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
  project.provide('workbook', { source: infra.source, databaseUrl: infra.databaseUrl, amqpUrl: infra.amqpUrl, redisUrl: infra.redisUrl, tree, template });
  return async () => {
    await infra.stop?.();
  };
}
