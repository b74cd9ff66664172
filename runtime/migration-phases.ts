// A rollout's two migration steps (expand → deploy → contract, milestone 5), for the places
// that run migrations without the workbook CLI: the image's one-shot `node dist/migrate.js
// expand|contract`, which the VPS compose file and the Kubernetes Jobs (deploy/k8s/migrate-*.yaml)
// run. The phase of a migration is in its file name: `*_contract-*` drops what the previous
// version still uses, so it may run only after every process of that version is gone.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runMigrations } from './migrate.ts';
import { withPgClient } from './pg-client.ts';

export type MigrationPhase = 'expand' | 'contract';

const CONTRACT = /^\d+_contract-/;

/**
 * The pending migrations a phase runs, in order. Expand: every pending one before the first
 * pending contract migration (an expand migration after it waits for the next rollout, as
 * its version may rely on the contract). Contract: every pending one.
 */
export function migrationsOfPhase(pending: string[], phase: MigrationPhase): string[] {
  if (phase === 'contract') return pending;
  const firstContract = pending.findIndex((name) => CONTRACT.test(name));
  return firstContract < 0 ? pending : pending.slice(0, firstContract);
}

/** Runs one phase's migrations of `tree` (a folder holding migrations/); returns the names that ran. */
export async function runMigrationPhase(options: {
  databaseUrl: string;
  tree: string;
  phase: MigrationPhase;
  lockTimeoutMs?: number;
  attempts?: number;
}): Promise<string[]> {
  const pending = await pendingMigrations(options.databaseUrl, join(options.tree, 'migrations'));
  const names = migrationsOfPhase(pending, options.phase);
  if (names.length === 0) return [];
  return runMigrations({
    databaseUrl: options.databaseUrl,
    tree: options.tree,
    direction: 'up',
    to: names.at(-1)!,
    lockTimeoutMs: options.lockTimeoutMs,
    attempts: options.attempts,
  });
}

async function pendingMigrations(databaseUrl: string, dir: string): Promise<string[]> {
  const names = (await readdir(dir))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();
  return withPgClient(
    databaseUrl,
    async (client) => {
      const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('pgmigrations') IS NOT NULL AS exists`);
      const done = rows[0]!.exists
        ? new Set((await client.query<{ name: string }>('SELECT name FROM pgmigrations')).rows.map((r) => r.name))
        : new Set<string>();
      return names.filter((n) => !done.has(n));
    },
    { connectionTimeoutMillis: 5_000 },
  );
}
