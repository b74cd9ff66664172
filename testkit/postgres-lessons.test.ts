// What PostgreSQL itself does, in the cases the lessons teach (milestones 3 and 5). These are
// not tests of the learner's code: they pin down the database behaviour the lessons' failure
// inquiry questions rest on, so a claim in a README that PostgreSQL stops honouring fails here.
// Each scenario uses its own sessions (pg.Client), as two users in two psql windows would.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './eventually.ts';
import { useTestEnv } from './harness.ts';

const env = useTestEnv();
const sessions: pg.Client[] = [];

async function session(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: env.config.databaseUrl });
  await client.connect();
  // An error on a session that a test abandons must not crash the run.
  client.on('error', () => {});
  sessions.push(client);
  return client;
}

const pidOf = async (client: pg.Client): Promise<number> => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

/** Waits until the backend `pid` is blocked on a heavyweight lock (a row lock, a virtual xid). */
async function waitingOnALock(observer: pg.Client, pid: number, what: string): Promise<void> {
  await eventually(
    async () =>
      (
        await observer.query<{ waiting: boolean }>(
          `SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) AS waiting FROM pg_stat_activity WHERE pid = $1`,
          [pid],
        )
      ).rows[0]!.waiting,
    (waiting) => waiting,
    what,
  );
}

/** Whether another session could take the row's lock right now (NOWAIT: no waiting, 55P03 if held). */
async function rowLockIsFree(observer: pg.Client, table: string): Promise<boolean> {
  await observer.query('BEGIN');
  try {
    await observer.query(`SELECT id FROM ${table} WHERE id = 1 FOR NO KEY UPDATE NOWAIT`);
    return true;
  } catch (err) {
    if ((err as pg.DatabaseError).code === '55P03') return false;
    throw err;
  } finally {
    await observer.query('ROLLBACK');
  }
}

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.end().catch(() => {})));
});

describe('milestone 3: a refused conditional UPDATE and the row lock', () => {
  beforeAll(async () => {
    await env.db.query('CREATE TABLE lesson_items (id int PRIMARY KEY, highest_cents bigint NOT NULL)');
  });
  afterAll(async () => {
    await env.db.query('DROP TABLE IF EXISTS lesson_items');
  });

  it('refused without waiting, it holds no lock; refused after waiting for a writer, it holds the row lock until its transaction ends', async () => {
    await env.db.query('INSERT INTO lesson_items VALUES (1, 100) ON CONFLICT (id) DO UPDATE SET highest_cents = 100');
    const [writer, bidder, observer] = [await session(), await session(), await session()];
    // The minimum next bid is highest + 100: 150 is too low against 100; 250 passes against the
    // snapshot's 100, and is too low against the 500 a concurrent writer commits.
    const bid = (cents: number) => `UPDATE lesson_items SET highest_cents = ${cents} WHERE id = 1 AND ${cents} >= highest_cents + 100`;

    // Nobody else holds the row: the WHERE fails on the snapshot's row, and no lock is taken.
    await bidder.query('BEGIN');
    expect((await bidder.query(bid(150))).rowCount, 'rows the too-low bid updated (no concurrent writer)').toBe(0);
    expect(await rowLockIsFree(observer, 'lesson_items'), 'row lock free while the refused bid is still in its transaction').toBe(true);
    await bidder.query('ROLLBACK');

    // A writer holds the row: the bid waits, then EvalPlanQual locks the newest version and re-checks.
    await writer.query('BEGIN');
    await writer.query('UPDATE lesson_items SET highest_cents = 500 WHERE id = 1');
    await bidder.query('BEGIN');
    const bidderPid = await pidOf(bidder);
    const refused = bidder.query(bid(250));
    await waitingOnALock(observer, bidderPid, 'the bid to wait for the writer’s row lock');
    await writer.query('COMMIT');
    expect((await refused).rowCount, 'rows the too-low bid updated after the writer committed 500').toBe(0);
    expect(await rowLockIsFree(observer, 'lesson_items'), 'row lock free while the refused bid (which waited) is still in its transaction').toBe(false);
    await bidder.query('COMMIT');
    expect(await rowLockIsFree(observer, 'lesson_items'), 'row lock free once the refused bid’s transaction ended').toBe(true);
  });
});

describe('milestone 5: what a failed CREATE UNIQUE INDEX CONCURRENTLY leaves behind', () => {
  beforeAll(async () => {
    await env.db.query('CREATE TABLE lesson_bids (id int, request text)');
    await env.db.query('CREATE TABLE lesson_report (x int)');
  });
  afterAll(async () => {
    await env.db.query('DROP TABLE IF EXISTS lesson_bids, lesson_report');
  });

  const flags = async (index: string) =>
    (await env.db.query<{ indisvalid: boolean; indisready: boolean }>(`SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = $1::regclass`, [index]))
      .rows[0];

  it('failed in its first scan (a duplicate already present): INVALID and not ready, so it enforces nothing and is not maintained', async () => {
    await env.db.query('TRUNCATE lesson_bids');
    await env.db.query(`INSERT INTO lesson_bids VALUES (1, 'r1'), (2, 'r1')`);
    await expect(env.db.query('CREATE UNIQUE INDEX CONCURRENTLY lesson_first_scan ON lesson_bids (request)')).rejects.toMatchObject({ code: '23505' });
    expect(await flags('lesson_first_scan'), 'pg_index flags of the leftover').toEqual({ indisvalid: false, indisready: false });
    await expect(env.db.query(`INSERT INTO lesson_bids VALUES (3, 'r1')`), 'a third r1 is accepted: the leftover enforces nothing').resolves.toMatchObject({
      rowCount: 1,
    });
    await env.db.query('DROP INDEX CONCURRENTLY lesson_first_scan');
  });

  it('failed after it became ready (lock_timeout while waiting for an open snapshot on another table): INVALID but maintained, and it still enforces uniqueness', async () => {
    await env.db.query('TRUNCATE lesson_bids');
    await env.db.query(`INSERT INTO lesson_bids VALUES (1, 'r1'), (2, 'r2')`);
    const [report, migration, observer] = [await session(), await session(), await session()];
    // A report's open transaction on an unrelated table: only its snapshot is in the way.
    await report.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await report.query('SELECT count(*) FROM lesson_report');
    await migration.query(`SET lock_timeout = '500ms'`);
    const migrationPid = await pidOf(migration);
    const build = migration.query('CREATE UNIQUE INDEX CONCURRENTLY lesson_late ON lesson_bids (request)');
    build.catch(() => {});
    await waitingOnALock(observer, migrationPid, 'the concurrent build to wait for the report’s snapshot').catch(() => {
      // It may already have given up (lock_timeout is short): the assertions below still hold.
    });
    await expect(build, 'the build, behind a 500 ms lock_timeout and a report that keeps its snapshot open').rejects.toMatchObject({ code: '55P03' });
    expect(await flags('lesson_late'), 'pg_index flags of the leftover').toEqual({ indisvalid: false, indisready: true });
    await expect(env.db.query(`INSERT INTO lesson_bids VALUES (3, 'r1')`), 'a second r1 while the INVALID index exists').rejects.toMatchObject({
      code: '23505',
      constraint: 'lesson_late',
    });
    await observer.query('SET enable_seqscan = off');
    const plan = (await observer.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT * FROM lesson_bids WHERE request = 'r1'`)).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan, 'plan of a lookup by request, sequential scans discouraged').not.toContain('lesson_late');
    await report.query('COMMIT');
    await env.db.query('DROP INDEX CONCURRENTLY lesson_late');
  });
});
