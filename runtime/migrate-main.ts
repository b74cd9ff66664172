// `node dist/migrate.js expand|contract`: the image's one-shot migration step (scripts/build.ts
// bundles it next to the app's entry points, with the tree's migrations in dist/migrations).
// Exits 0 when the phase's migrations ran or none were pending, 1 with what to do otherwise.
import { dirname } from 'node:path';
import { loadConfig } from './config.ts';
import { MigrationFailed } from './migrate.ts';
import { runMigrationPhase, type MigrationPhase } from './migration-phases.ts';
import { coerceError } from './coerce-error.ts';

const phase = process.argv[2];
if (phase !== 'expand' && phase !== 'contract') {
  console.error(
    `migrate: expected "expand" (before the new version starts) or "contract" (after every old process is gone), got ${JSON.stringify(phase ?? '')}. Run: node dist/migrate.js expand`,
  );
  process.exit(2);
}
try {
  const config = loadConfig();
  // The bundle sits in dist/, its migrations in dist/migrations.
  const ran = await runMigrationPhase({
    databaseUrl: config.databaseUrl,
    tree: dirname(process.argv[1]!),
    phase: phase as MigrationPhase,
    ...config.migrations,
  });
  console.log(ran.length ? `migrate ${phase}: ran ${ran.join(', ')}` : `migrate ${phase}: nothing pending`);
} catch (err) {
  const next =
    err instanceof MigrationFailed && err.next
      ? ''
      : '\nNext: fix the cause above, then run the same migrate step again (applied migrations are not run twice).';
  console.error(`migrate ${phase} failed: ${coerceError(err).message}${next}`);
  process.exit(1);
}
