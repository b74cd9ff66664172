// runtime/db.ts: what a failed transaction does to the connection it ran on, and what BEGIN and COMMIT carry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, sendWithCommit, withTransaction, type Db, type DbClient } from './db.ts';
import { useTestEnv } from '../testkit/harness.ts';
import { startFaultProxy } from '../testkit/fault-proxy.ts';

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

/**
 * Runs `check` with a pool of one connection through the fault proxy, delaying every chunk by
 * 100 ms each way: a round trip takes 200 ms, far above anything else a transaction does, so
 * `roundTrips(work)` counts the round trips of `work`. Each test times the same work two ways
 * and asserts their difference: on a busy machine (npm test runs files in parallel) both carry
 * the same extra time, and an absolute bound flaked (2.55 round trips against 2.5).
 */
async function withSlowDatabase(check: (slow: Db, roundTrips: (work: () => Promise<unknown>) => Promise<number>) => Promise<void>): Promise<void> {
  const proxy = await startFaultProxy({ target: env.config.databaseUrl });
  const slow = createDb({ url: proxy.url(env.config.databaseUrl), log: env.log, max: 1 });
  try {
    await slow.query('SELECT 1'); // the connection, before the delay
    proxy.latency(100);
    await check(slow, async (work) => {
      const started = performance.now();
      await work();
      return (performance.now() - started) / 200;
    });
  } finally {
    await slow.end();
    await proxy.close();
  }
}

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

  it("sends `begin` in BEGIN's own message: one round trip, settings for this transaction only", async () => {
    // Every message the transaction's connection is given, BEGIN and COMMIT included.
    const sent: string[] = [];
    let counted: DbClient | undefined;
    const count = (client: DbClient) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => (sent.push(String(args[0])), query(...args));
      counted = client;
      db.off('acquire', count);
    };
    db.on('acquire', count);
    const seen = await withTransaction(
      db,
      async (tx) =>
        (
          await tx.query<{ lock: string; statement: string }>(
            `SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement`,
          )
        ).rows[0],
      { begin: () => `SET LOCAL lock_timeout = '123ms'; SET LOCAL statement_timeout = '456ms'` },
    );
    delete (counted as unknown as { query?: unknown }).query; // the prototype's again
    expect(seen, 'the settings inside the transaction').toEqual({ lock: '123ms', statement: '456ms' });
    expect(
      sent.map((text) => text.split(';')[0]),
      'messages sent: the settings ride with BEGIN',
    ).toEqual(['BEGIN', expect.stringContaining('current_setting'), 'COMMIT']);
    const after = (await db.query<{ lock: string }>(`SELECT current_setting('lock_timeout') AS lock`)).rows[0]!.lock;
    expect(after, 'lock_timeout on the pooled connection afterwards').toBe('0');
  });

  it('sends BEGIN with the first statement: a transaction of one statement costs two round trips, not three', async () => {
    // Against BEGIN, the statement and COMMIT each awaited, on the same connection.
    await withSlowDatabase(async (slow, roundTrips) => {
      const oneByOne = await roundTrips(async () => {
        const client = await slow.connect();
        try {
          await client.query("BEGIN; SET LOCAL lock_timeout = '1s'");
          await client.query('SELECT 1');
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      });
      const pipelined = await roundTrips(() => withTransaction(slow, (tx) => tx.query('SELECT 1'), { begin: () => "SET LOCAL lock_timeout = '1s'" }));
      expect(
        oneByOne - pipelined,
        `round trips saved by BEGIN riding with the statement (one by one: ${oneByOne.toFixed(2)}, withTransaction: ${pipelined.toFixed(2)})`,
      ).toBeGreaterThan(0.6);
    });
  });

  it('sends the statements given to sendWithCommit with COMMIT: a bid-like transaction costs a round trip less than with the statement awaited', async () => {
    // Against the same transaction with the statement awaited.
    await withSlowDatabase(async (slow, roundTrips) => {
      const awaited = await roundTrips(() =>
        withTransaction(slow, async (tx) => {
          await tx.query('INSERT INTO db_test VALUES (100)');
          await tx.query('INSERT INTO db_test VALUES ($1)', [101]);
        }),
      );
      const withCommit = await roundTrips(() =>
        withTransaction(slow, async (tx) => {
          await tx.query('INSERT INTO db_test VALUES (102)');
          sendWithCommit(tx, { text: 'INSERT INTO db_test VALUES ($1)', values: [103] });
        }),
      );
      expect(awaited - withCommit, `round trips saved (awaited: ${awaited.toFixed(2)}, sent with COMMIT: ${withCommit.toFixed(2)})`).toBeGreaterThan(0.6);
      expect((await db.query('SELECT k FROM db_test WHERE k BETWEEN 100 AND 103 ORDER BY k')).rows.map((r) => r.k)).toEqual([100, 101, 102, 103]);
    });
  });

  it('rolls back everything when a statement sent with COMMIT fails, and throws its error', async () => {
    await db.query('INSERT INTO db_test VALUES (200)');
    const failed = withTransaction(db, async (tx) => {
      await tx.query('INSERT INTO db_test VALUES (201)');
      sendWithCommit(tx, { text: 'INSERT INTO db_test VALUES ($1)', values: [200] }); // a duplicate key
      sendWithCommit(tx, { text: 'INSERT INTO db_test VALUES ($1)', values: [202] });
    });
    await expect(failed, "the duplicate key's error").rejects.toMatchObject({ code: '23505' });
    expect(
      (await db.query('SELECT k FROM db_test WHERE k IN (200, 201, 202) ORDER BY k')).rows.map((r) => r.k),
      'rows committed',
    ).toEqual([200]);
    expect(await backend(), 'a transaction on the same connection afterwards').toBeTypeOf('number');
  });

  it('sends the statements given to sendWithCommit in the order given, after what fn awaited', async () => {
    await withTransaction(db, async (tx) => {
      sendWithCommit(tx, { text: 'UPDATE db_test SET k = 302 WHERE k = 301' });
      sendWithCommit(tx, { text: 'UPDATE db_test SET k = 303 WHERE k = 302' });
      await tx.query('INSERT INTO db_test VALUES (301)');
    });
    expect((await db.query('SELECT k FROM db_test WHERE k BETWEEN 301 AND 303')).rows.map((r) => r.k)).toEqual([303]);
  });

  it('refuses sendWithCommit outside the fn of withTransaction, where nothing would send it', async () => {
    const client = await db.connect();
    try {
      expect(() => sendWithCommit(client, { text: 'SELECT 1' })).toThrow(/only inside the fn of withTransaction/);
    } finally {
      client.release();
    }
    let kept: DbClient | undefined;
    await withTransaction(db, async (tx) => {
      kept = tx;
    });
    expect(() => sendWithCommit(kept!, { text: 'SELECT 1' }), 'after the transaction ended').toThrow(/only inside the fn of withTransaction/);
  });

  it('reports a BEGIN that failed, not the statement it took down with it', async () => {
    const failed = withTransaction(db, (tx) => tx.query('SELECT 1'), { begin: () => "SET LOCAL lock_timeout = 'not a duration'" });
    await expect(failed).rejects.toMatchObject({ code: '22023' });
    expect((await db.query('SELECT 1 AS one')).rows[0].one, 'the connection afterwards').toBe(1);
  });
});
