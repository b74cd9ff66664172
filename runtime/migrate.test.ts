// The migration runner's own rules: SQL files run in a transaction unless marked, and a marked
// file runs statement by statement (CREATE INDEX CONCURRENTLY refuses a transaction).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { databaseUrlFor, markUsed, pruneTemplates, splitStatements } from './migrate.ts';
import { useTestEnv } from '../testkit/harness.ts';

describe('splitStatements (no-transaction migrations)', () => {
  it('splits at a ; that ends a line and drops comment-only pieces', () => {
    const sql = [
      '-- Up Migration',
      '-- #region m5: build it',
      "SET lock_timeout = '2s';",
      'DROP INDEX CONCURRENTLY IF EXISTS a_idx;',
      '-- a comment between statements',
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS a_idx',
      '  ON bids (bidder_id, request_id);',
      '-- #endregion',
    ].join('\n');
    expect(splitStatements(sql)).toEqual([
      "SET lock_timeout = '2s'",
      'DROP INDEX CONCURRENTLY IF EXISTS a_idx',
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS a_idx\n  ON bids (bidder_id, request_id)',
    ]);
  });

  it('finds no statement in a stub', () => {
    expect(splitStatements('-- Up Migration\n-- #region m5: x\n-- TODO(m5): write it.\n-- #endregion\n')).toEqual([]);
  });
});

describe('pruneTemplates (every edit of a migration makes a new template)', () => {
  const env = useTestEnv();

  it('keeps the most recently used, drops the others, and leaves one that is in use', async () => {
    const admin = new pg.Client({ connectionString: databaseUrlFor(env.workbook.databaseUrl, 'postgres') });
    await admin.connect();
    const prefix = `wb_prune_${randomBytes(3).toString('hex')}_`;
    const [oldest, inUse, newest, neverMarked] = ['oldest', 'in_use', 'newest', 'never_marked'].map((n) => prefix + n) as [string, string, string, string];
    const user = new pg.Client({ connectionString: databaseUrlFor(env.workbook.databaseUrl, inUse) });
    try {
      for (const name of [oldest, inUse, newest, neverMarked]) await admin.query(`CREATE DATABASE "${name}"`);
      for (const name of [oldest, inUse, newest]) {
        await markUsed(admin, name);
        await new Promise((r) => setTimeout(r, 5));
      }
      await user.connect();
      expect((await pruneTemplates(admin, { prefix, keep: 1 })).sort()).toEqual([neverMarked, oldest].sort());
      const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname', [prefix]);
      expect(rows.map((r) => r.datname)).toEqual([inUse, newest].sort());
    } finally {
      await user.end().catch(() => undefined);
      for (const name of [oldest, inUse, newest, neverMarked]) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
