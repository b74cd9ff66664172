// What every command that runs tests needs first: the services, and the tree's migrations
// applied to a template. Failures become LearnerErrors: what happened, what to do next.
import { relative } from 'node:path';
import { loadWorkbookSettings } from '../runtime/config.ts';
import { ensureTemplate, MigrationFailed } from '../runtime/migrate.ts';
import { InfraUnavailable, resolveInfra, type Infra } from '../testkit/infra.ts';
import { hashTree, repoRoot } from './trees.ts';
import { coerceError } from '../runtime/coerce-error.ts';

export class LearnerError extends Error {
  override name = 'LearnerError';
  constructor(
    readonly what: string,
    readonly next: string,
  ) {
    super(what);
  }
}

export async function prepare(tree: string): Promise<Infra> {
  let infra: Infra;
  try {
    infra = await resolveInfra(loadWorkbookSettings());
  } catch (err) {
    if (err instanceof InfraUnavailable) throw new LearnerError(err.message, 'npm run doctor');
    throw err;
  }
  try {
    await ensureTemplate({ databaseUrl: infra.databaseUrl, tree, migrationsHash: await hashTree(tree, ['migrations']) });
  } catch (err) {
    if (err instanceof MigrationFailed) {
      throw new LearnerError(
        `Your migrations did not apply: ${err.cause.message}\n(in ${relative(repoRoot, tree)}/migrations; PostgreSQL's own words above say which statement)`,
        'fix the SQL, then run the same command again',
      );
    }
    if ((err as { code?: string }).code === 'ECONNREFUSED' || /connect/i.test(coerceError(err).message)) {
      throw new LearnerError(`PostgreSQL did not accept a connection at ${infra.databaseUrl}: ${coerceError(err).message}`, 'npm run doctor');
    }
    throw err;
  }
  return infra;
}
