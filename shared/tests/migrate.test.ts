// The migration runner's own rules: SQL files run in a transaction unless marked, and a marked
// file runs statement by statement (CREATE INDEX CONCURRENTLY refuses a transaction).
import { describe, expect, it } from 'vitest';
import { splitStatements } from '../migrate.ts';

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
