// Migrations of an app tree (tree/migrations, node-pg-migrate, SQL files) and the database
// plumbing around them: the migrated template each test file clones (design §4).
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

export class MigrationFailed extends Error {
  override name = 'MigrationFailed';
  constructor(
    readonly tree: string,
    readonly direction: 'up' | 'down',
    override readonly cause: Error,
  ) {
    super(`The ${direction} migrations in ${join(tree, 'migrations')} failed: ${cause.message}`);
  }
}

export function databaseUrlFor(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrlFor(url, 'postgres'), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function runMigrations(options: { databaseUrl: string; tree: string; direction: 'up' | 'down'; count?: number }): Promise<string[]> {
  try {
    const ran = await runner({
      databaseUrl: options.databaseUrl,
      dir: join(options.tree, 'migrations'),
      direction: options.direction,
      count: options.count ?? (options.direction === 'up' ? Infinity : 1),
      migrationsTable: 'pgmigrations',
      checkOrder: true,
      log: () => undefined,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    return ran.map((m) => m.name);
  } catch (err) {
    throw new MigrationFailed(options.tree, options.direction, err as Error);
  }
}

export async function databaseExists(url: string, name: string): Promise<boolean> {
  return withAdmin(url, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

export async function createDatabase(url: string, name: string, template?: string): Promise<void> {
  await withAdmin(url, (c) => c.query(`CREATE DATABASE ${ident(name)}${template ? ` TEMPLATE ${ident(template)}` : ''}`));
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withAdmin(url, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
}

/**
 * A database migrated with the tree's migrations, named after their content hash, created
 * once and reused until the migrations change. An advisory lock keeps two runs from
 * building the same one at once.
 */
export async function ensureTemplate(options: { databaseUrl: string; tree: string; migrationsHash: string }): Promise<string> {
  const name = `wb_tpl_${options.migrationsHash}`;
  return withAdmin(options.databaseUrl, async (admin) => {
    await admin.query(`SELECT pg_advisory_lock(hashtext('auction-workbook-templates'))`);
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 1) return name;
      const building = `${name}_building`;
      await admin.query(`DROP DATABASE IF EXISTS ${ident(building)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${ident(building)}`);
      try {
        await runMigrations({ databaseUrl: databaseUrlFor(options.databaseUrl, building), tree: options.tree, direction: 'up' });
      } catch (err) {
        await admin.query(`DROP DATABASE IF EXISTS ${ident(building)} WITH (FORCE)`);
        throw err;
      }
      await admin.query(`ALTER DATABASE ${ident(building)} RENAME TO ${ident(name)}`);
      return name;
    } finally {
      await admin.query(`SELECT pg_advisory_unlock(hashtext('auction-workbook-templates'))`);
    }
  });
}
