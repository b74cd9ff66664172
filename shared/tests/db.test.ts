// shared/db.ts: what a failed transaction does to the connection it ran on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, withTransaction, type Db } from '../db.ts';
import { useTestEnv } from '../test/harness.ts';

const env = useTestEnv();
let db: Db;
const backend = async () => withTransaction(db, async (tx) => (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);

beforeAll(async () => {
  // One connection, so "the same backend afterwards" means "the connection was kept".
  db = createDb({ url: env.config.databaseUrl, log: env.log, max: 1 });
  await db.query('CREATE TABLE db_test (k int PRIMARY KEY)');
});
afterAll(async () => {
  await db.end();
});

describe('withTransaction', () => {
  it('rolls back when the caller throws, and keeps the connection for the next transaction', async () => {
    const before = await backend();
    const refused = withTransaction(db, async (tx) => {
      await tx.query('INSERT INTO db_test VALUES (1)');
      throw new Error('refused by a business rule');
    });
    await expect(refused).rejects.toThrow('refused by a business rule');
    expect((await db.query('SELECT count(*)::int AS n FROM db_test')).rows[0].n, 'rows left by the failed transaction').toBe(0);
    expect(await backend(), 'backend process after the failure').toBe(before);
  });

  it('keeps the connection after a constraint violation', async () => {
    await db.query('INSERT INTO db_test VALUES (2)');
    const before = await backend();
    await expect(withTransaction(db, (tx) => tx.query('INSERT INTO db_test VALUES (2)'))).rejects.toMatchObject({ code: '23505' });
    expect(await backend()).toBe(before);
  });

  it('discards a connection whose server process was terminated, and the next transaction works', async () => {
    const before = await backend();
    const killed = withTransaction(db, async (tx) => {
      await env.db.query('SELECT pg_terminate_backend($1)', [before]);
      return tx.query('SELECT 1');
    });
    await expect(killed).rejects.toThrow();
    const after = await backend();
    expect(after, 'a new backend process').not.toBe(before);
    expect(db.totalCount, 'connections in the pool').toBe(1);
  });
});
