// Migrations of an app tree (tree/migrations, node-pg-migrate, SQL files) and the database
// plumbing around them: the migrated template each test file clones (design §4).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runner, type MigrationBuilder } from 'node-pg-migrate';
import type pg from 'pg';
import { coerceError, errorCode } from './coerce-error.ts';
import { backoffMs, sqlStateRetry, type Backoff } from './retry.ts';
import { withPgClient } from './pg-client.ts';

type MigrationBuilderActions = { up: (pgm: MigrationBuilder) => void; down: ((pgm: MigrationBuilder) => void) | false };

export class MigrationFailed extends Error {
  override name = 'MigrationFailed';
  constructor(
    readonly tree: string,
    readonly direction: 'up' | 'down',
    override readonly cause: Error,
    /** What to do about it, when the failure is one a migration author meets (see whatToDo). */
    readonly next?: string,
  ) {
    super(`The ${direction} migrations in ${join(tree, 'migrations')} failed: ${cause.message}${next ? `\nNext: ${next}` : ''}`);
  }
}

/** The defaults of config.migrations (MIGRATION_LOCK_TIMEOUT_MS, MIGRATION_ATTEMPTS), for callers without a Config. */
const DEFAULTS = { lockTimeoutMs: 2_000, attempts: 5 };
// At least half of each pause: the transaction holding the lock needs the time to finish.
const RETRY_PAUSE: Backoff = { firstMs: 500, maxMs: 8_000, jitter: 'equal' };

/** The options of one run. */
export interface MigrateOptions {
  databaseUrl: string;
  tree: string;
  direction: 'up' | 'down';
  /** Migrations to run: all pending ones up, one down, unless given. */
  count?: number;
  /** Up to and including this migration (its file name without .sql), instead of count. */
  to?: string;
  /** The session's lock_timeout, for migrations that set none themselves. */
  lockTimeoutMs?: number;
  /** Runs when a DDL statement gave up waiting for its lock (55P03), the first included. */
  attempts?: number;
  /** Told about each retry. */
  onRetry?: (info: { attempt: number; attempts: number; delayMs: number; error: Error }) => void;
}

const NO_TRANSACTION = /^--\s*migrate:\s*no-transaction\s*$/m;
const section = (direction: 'up' | 'down') => new RegExp(`^\\s*--[\\s-]*${direction}\\s+migration`, 'im');

/**
 * node-pg-migrate's SQL files, plus one marker: a file with the line `-- migrate: no-transaction`
 * runs outside a transaction, each statement on its own (CREATE INDEX CONCURRENTLY refuses to
 * run in one, and a multi-statement query is one). Its statements end with `;` at the end of a
 * line and must be safe to run again, since a failure leaves the earlier ones committed.
 */
export function sqlMigrationActions(content: string): MigrationBuilderActions {
  const upAt = content.search(section('up'));
  const downAt = content.search(section('down'));
  const up = upAt >= 0 ? content.slice(upAt, downAt > upAt ? downAt : undefined) : content;
  const down = downAt >= 0 ? content.slice(downAt, upAt > downAt ? upAt : undefined) : undefined;
  const outsideTransaction = NO_TRANSACTION.test(content);
  const apply = (sql: string) => (pgm: MigrationBuilder) => {
    if (!outsideTransaction) return void pgm.sql(sql);
    pgm.noTransaction();
    for (const statement of splitStatements(sql)) pgm.sql(statement);
  };
  return { up: apply(up), down: down === undefined ? false : apply(down) };
}

/** Statements of a no-transaction file: split at a `;` ending a line, comment-only pieces dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*$/m)
    .map((piece) =>
      piece
        .split('\n')
        .filter((line) => !/^\s*--/.test(line))
        .join('\n')
        .trim(),
    )
    .filter((statement) => statement !== '');
}

async function loadSqlMigrations(filePaths: string[]) {
  return Promise.all(
    filePaths.map(async (filePath) => ({ id: filePath, filePaths: [filePath], actions: sqlMigrationActions(await readFile(filePath, 'utf8')) })),
  );
}

/**
 * Runs a tree's migrations with a lock_timeout on the session, so DDL waiting behind a long
 * transaction gives up instead of holding every bid in the lock queue behind it, and runs
 * them again (with a growing, jittered pause) when a statement gave up that way.
 */
export async function runMigrations(options: MigrateOptions): Promise<string[]> {
  const attempts = options.attempts ?? DEFAULTS.attempts;
  const ran: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      ran.push(...(await runOnce(options, options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs, ran.length)));
      return ran;
    } catch (err) {
      const error = coerceError(err);
      if (sqlStateRetry(errorCode(err)) !== 'lock-timeout' || attempt >= attempts) {
        throw new MigrationFailed(options.tree, options.direction, error, await whatToDo(options.databaseUrl, error));
      }
      const delayMs = backoffMs(attempt, RETRY_PAUSE);
      options.onRetry?.({ attempt, attempts, delayMs, error });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

async function runOnce(options: MigrateOptions, lockTimeoutMs: number, alreadyRan: number): Promise<string[]> {
  const dir = join(options.tree, 'migrations');
  return withPgClient(
    options.databaseUrl,
    async (client) => {
      await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${lockTimeoutMs}ms`]);
      let count = options.count ?? (options.direction === 'up' ? Infinity : 1);
      // A retry after some migrations went through runs only the rest (with `to`, countUpTo sees them done).
      if (options.to !== undefined) count = await countUpTo(client, dir, options.to);
      else if (count !== Infinity) count -= alreadyRan;
      if (count <= 0) return [];
      const ran = await runner({
        dbClient: client,
        dir,
        direction: options.direction,
        count,
        migrationsTable: 'pgmigrations',
        checkOrder: true,
        migrationLoaderStrategies: [{ extensions: ['.sql'], loader: loadSqlMigrations }],
        log: () => undefined,
        logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      });
      return ran.map((m) => m.name);
    },
    { connectionTimeoutMillis: 5_000 },
  );
}

/** How many pending migrations lie up to and including `to`. */
async function countUpTo(client: pg.Client, dir: string, to: string): Promise<number> {
  const names = (await readdir(dir))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();
  const index = names.indexOf(to);
  if (index < 0) throw new Error(`There is no migration ${to} in ${dir}.`);
  const table = await client.query(`SELECT to_regclass('pgmigrations') IS NOT NULL AS exists`);
  const done = table.rows[0].exists
    ? new Set((await client.query<{ name: string }>('SELECT name FROM pgmigrations')).rows.map((r) => r.name))
    : new Set<string>();
  return names.slice(0, index + 1).filter((n) => !done.has(n)).length;
}

/** The next step for the failures a migration author meets, with the facts the database has. */
async function whatToDo(databaseUrl: string, error: Error & { code?: string; constraint?: string; table?: string }): Promise<string | undefined> {
  const invalid = await invalidIndexes(databaseUrl).catch(() => []);
  const leftover = invalid.length
    ? ` INVALID ${invalid.length === 1 ? 'index' : 'indexes'} left by a failed CREATE INDEX CONCURRENTLY: ${invalid.join(', ')} (no query uses it; if it failed after becoming ready, every write still maintains it and it still refuses duplicates); a migration that drops it before building it again repairs it.`
    : '';
  switch (error.code) {
    case '55P03':
      return `A lock was not granted within the lock_timeout, on every attempt: a long transaction holds one. Find it with SELECT pid, xact_start, state, query FROM pg_stat_activity ORDER BY xact_start, end it, and migrate again.${leftover}`;
    case '23514':
      return `Rows break the constraint ${error.constraint ?? ''}${error.table ? ` of ${error.table}` : ''}: fill them first (for bids.bidder_id: npm run backfill, or npm run backfill -- --from-start for rows before its checkpoint), then migrate again.${leftover}`;
    case '23505':
      return `Duplicate values stop the unique ${error.constraint ?? 'index'}: find them with GROUP BY … HAVING count(*) > 1, resolve them, then migrate again.${leftover}`;
    default:
      return leftover ? leftover.trim() : undefined;
  }
}

/** Indexes a failed CREATE INDEX CONCURRENTLY left behind. */
export async function invalidIndexes(databaseUrl: string): Promise<string[]> {
  return withPgClient(
    databaseUrl,
    async (client) => {
      const { rows } = await client.query<{ name: string }>(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE NOT indisvalid ORDER BY 1`);
      return rows.map((r) => r.name);
    },
    { connectionTimeoutMillis: 5_000 },
  );
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
  return withPgClient(databaseUrlFor(url, 'postgres'), fn, { connectionTimeoutMillis: 5_000 });
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function databaseExists(url: string, name: string): Promise<boolean> {
  return withAdmin(url, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

export async function createDatabase(url: string, name: string, template?: string): Promise<void> {
  await withAdmin(url, (c) => c.query(`CREATE DATABASE ${ident(name)}${template ? ` TEMPLATE ${ident(template)}` : ''}`));
}

/** A new database `name` on the server of `serverUrl`, migrated up to and including `to`; dropped again when a migration fails. */
export async function createDatabaseAt(options: {
  serverUrl: string;
  name: string;
  tree: string;
  to: string;
}): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  await createDatabase(options.serverUrl, options.name);
  const url = databaseUrlFor(options.serverUrl, options.name);
  const drop = () => dropDatabase(options.serverUrl, options.name);
  try {
    await runMigrations({ databaseUrl: url, tree: options.tree, direction: 'up', to: options.to });
  } catch (err) {
    await drop();
    throw err;
  }
  return { name: options.name, url, drop };
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withAdmin(url, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
}

const TEMPLATE_PREFIX = 'wb_tpl_';
/** Templates kept: every T_k, solutions/ and the learner's exercises/ have one, with room for a second checkout (a git worktree) on the same server. */
const TEMPLATES_KEPT = 24;

/**
 * A database migrated with the tree's migrations, named after their content hash, created
 * once and reused until the migrations change. An advisory lock keeps two runs from
 * building the same one at once. Each edit of a migration makes a new one, so only the
 * most recently used are kept (pruneTemplates).
 */
export async function ensureTemplate(options: { databaseUrl: string; tree: string; migrationsHash: string }): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${options.migrationsHash}`;
  return withAdmin(options.databaseUrl, async (admin) => {
    await admin.query(`SELECT pg_advisory_lock(hashtext('auction-workbook-templates'))`);
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 1) {
        await markUsed(admin, name);
        return name;
      }
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
      await markUsed(admin, name);
      await pruneTemplates(admin, { prefix: TEMPLATE_PREFIX, keep: TEMPLATES_KEPT });
      return name;
    } finally {
      await admin.query(`SELECT pg_advisory_unlock(hashtext('auction-workbook-templates'))`);
    }
  });
}

/** Records when a template was last used, in its comment (PostgreSQL keeps no such date itself). */
export async function markUsed(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`COMMENT ON DATABASE ${ident(name)} IS 'auction-workbook template, last used ${new Date().toISOString()}'`);
}

/**
 * Drops the databases named `prefix…` beyond the `keep` most recently used (markUsed; never
 * marked counts as oldest). One being cloned or otherwise in use stays, to go another time.
 * Returns the names dropped.
 */
export async function pruneTemplates(admin: pg.Client, options: { prefix: string; keep: number }): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname
       FROM (SELECT datname, oid FROM pg_database
              WHERE starts_with(datname, $1::text) AND NOT datname LIKE '%\\_building'
              ORDER BY coalesce(shobj_description(oid, 'pg_database'), '') DESC, datname
             OFFSET $2::int) d
      -- DROP DATABASE waits 5 s for the sessions of a database in use before it gives up.
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)`,
    [options.prefix, options.keep],
  );
  const dropped: string[] = [];
  for (const { datname } of rows) {
    const gone = await admin.query(`DROP DATABASE IF EXISTS ${ident(datname)}`).then(
      () => true,
      () => false,
    );
    if (gone) dropped.push(datname);
  }
  return dropped;
}
