// npm run migrate as a learner meets it (issue 21): it applies only the migrations of the
// milestones up to the one the learner is on, and refuses a migration whose file changed since
// it was applied (node-pg-migrate never runs an applied migration again).
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { appliedMigrations, changedSinceApplied, currentMilestone, lastMigrationUpTo, migrationFiles, recordChecksums } from './commands/migrate.ts';
import { useTestEnv } from '../testkit/harness.ts';
import { exercisesDir } from './trees.ts';

describe('npm run migrate: up to the milestone the learner is on', () => {
  it('knows each migration’s milestone from its region, even in the exercise tree where it is a stub', async () => {
    const files = await migrationFiles(exercisesDir);
    expect(files.map((f) => f.milestone)).toEqual([1, 2, 3, 4, 5, 5, 5, 5, 5]);
    expect(lastMigrationUpTo(files, 1)).toBe('1764000000000_items-and-bids');
    expect(lastMigrationUpTo(files, 2)).toBe('1764000000001_outbox');
  });

  it('takes the learner to be on the first milestone whose last run did not pass', () => {
    expect(currentMilestone({})).toBe(1);
    expect(currentMilestone({ exercises: { 1: { failed: 2 } } })).toBe(1);
    expect(currentMilestone({ exercises: { 1: { failed: 0 } } })).toBe(2);
    expect(currentMilestone({ exercises: { 1: { failed: 0 }, 2: { failed: 0 }, 3: { failed: 1 } }, solutions: { 4: { failed: 0 } } })).toBe(3);
  });
});

describe('npm run migrate: an applied migration whose file changed', () => {
  const env = useTestEnv();

  it('records a checksum per applied migration and finds the one whose file changed since', async () => {
    const db = await env.databaseAt('1764000000001_outbox');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const files = await migrationFiles(env.tree);
      expect((await appliedMigrations(client)).map((a) => [a.name, a.sha256])).toEqual([
        ['1764000000000_items-and-bids', null],
        ['1764000000001_outbox', null],
      ]);
      await recordChecksums(client, files);
      const applied = await appliedMigrations(client);
      expect(applied.map((a) => a.sha256)).toEqual(files.slice(0, 2).map((f) => f.sha256));
      expect(changedSinceApplied(applied, files)).toEqual([]);
      const edited = files.map((f) => (f.name === '1764000000001_outbox' ? { ...f, sha256: 'edited' } : f));
      expect(changedSinceApplied(applied, edited)).toEqual([{ name: '1764000000001_outbox', why: 'changed' }]);
      expect(
        changedSinceApplied(
          applied,
          files.filter((f) => f.name !== '1764000000001_outbox'),
        ),
      ).toEqual([{ name: '1764000000001_outbox', why: 'missing' }]);
      // Undone migrations lose their checksum: applied again later, the new file is what ran.
      await client.query(`DELETE FROM pgmigrations WHERE name = '1764000000001_outbox'`);
      await recordChecksums(client, edited);
      expect((await client.query('SELECT name FROM workbook_migration_checksums ORDER BY name')).rows.map((r) => r.name)).toEqual([
        '1764000000000_items-and-bids',
      ]);
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
