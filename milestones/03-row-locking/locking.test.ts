// Milestone 3 · waiting for locks: bounded, typed, retried only when a retry can help.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { withRetries } from '#app/bidding/bid-transaction.ts';
import { placeBid } from '#app/bidding/place-bid.ts';
import { placeBidOptimistic } from '#app/bidding/place-bid-optimistic.ts';
import { AuctionEnded, Busy, RetriesExhausted } from '#app/errors.ts';
import { createDb } from '#runtime/db.ts';
import { clearFailpoints, failpointHits, setFailpoint } from '#runtime/failpoints.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, openItem, snapshot } from './fixtures.ts';

const env = useTestEnv();

/**
 * Another session holding the item's row lock until release(), a stalled transaction; it
 * lets go by itself after `maxHoldMs`, so code that never gives up waiting fails instead of hanging.
 */
async function holdItemLock(itemId: string, maxHoldMs = 5_000) {
  const other = new pg.Client({ connectionString: env.config.databaseUrl });
  await other.connect();
  await other.query('BEGIN');
  await other.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [itemId]);
  let released: Promise<void> | undefined;
  const release = () => (released ??= other.query('ROLLBACK').then(() => other.end()));
  setTimeout(() => void release(), maxHoldMs).unref();
  return { release };
}

describe.each([
  ['placeBid', placeBid],
  ['placeBidOptimistic', placeBidOptimistic],
])('%s under a held row lock', (_name, place) => {
  it('fails with Busy once lock_timeout passes, writes nothing, and succeeds after the lock is released', async () => {
    const itemId = await openItem(env.db);
    const deps = { ...env, config: { ...env.config, bidding: { ...env.config.bidding, lockTimeoutMs: 300 } } };
    const lock = await holdItemLock(itemId);
    const started = performance.now();
    let err: unknown;
    try {
      err = await place(deps, { itemId, userId: aBidder(), amountCents: '2000' }).catch((e: unknown) => e);
    } finally {
      await lock.release();
    }
    const waited = performance.now() - started;
    expect(err).toBeInstanceOf(Busy);
    expect((err as Busy).retryAfterMs).toBeGreaterThan(0);
    // Lower bound only: it did wait for the lock. (An upper bound would be a timed test.)
    expect(waited, 'ms waited before giving up').toBeGreaterThanOrEqual(290);
    expect((await snapshot(env.db, itemId)).bids, 'bids written').toEqual([]);
    await expect(place(deps, { itemId, userId: aBidder(), amountCents: '2000' })).resolves.toMatchObject({ amountCents: 2000n });
  });
});

describe.each([
  ['placeBid', placeBid],
  ['placeBidOptimistic', placeBidOptimistic],
])('%s behind a session that only locked the item', (_name, place) => {
  it('refuses with AuctionEnded a bid that queued before end_at and got the lock after it, and writes nothing', async () => {
    // The auction ends 300 ms from now; the other session locks the row (and changes nothing) until 600 ms.
    const itemId = await openItem(env.db, 1_000n, "interval '300 milliseconds'");
    const lock = await holdItemLock(itemId);
    let err: unknown;
    try {
      const bid = place(env, { itemId, userId: aBidder(), amountCents: '2000' }).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 600));
      await lock.release();
      err = await bid;
    } finally {
      await lock.release();
    }
    const { rows } = await env.db.query<{ ended: boolean }>('SELECT end_at <= clock_timestamp() AS ended FROM items WHERE id = $1', [itemId]);
    expect(rows[0]!.ended, 'the auction has ended by the database clock').toBe(true);
    expect(err, 'the answer to a bid that got the lock after end_at').toBeInstanceOf(AuctionEnded);
    expect((await snapshot(env.db, itemId)).bids, 'bids written').toEqual([]);
  });
});

describe.each([
  ['placeBid', placeBid],
  ['placeBidOptimistic', placeBidOptimistic],
])('%s on a pooled connection', (_name, place) => {
  it('leaves no bid settings on the connection: lock_timeout and statement_timeout end with the transaction', async () => {
    // One connection in the pool: every query below runs on the connection the bids used.
    const db = createDb({ url: env.config.databaseUrl, log: env.log, max: 1 });
    const deps = { ...env, db, config: { ...env.config, bidding: { ...env.config.bidding, lockTimeoutMs: 300, statementTimeoutMs: 4_321 } } };
    const settings = async () =>
      (
        await db.query<{ pid: number; lock_timeout: string; statement_timeout: string }>(
          `SELECT pg_backend_pid() AS pid, current_setting('lock_timeout') AS lock_timeout, current_setting('statement_timeout') AS statement_timeout`,
        )
      ).rows[0];
    try {
      const before = await settings();
      const itemId = await openItem(env.db);
      // The bid's lock_timeout is in force during its transaction...
      const lock = await holdItemLock(itemId);
      const refused = await place(deps, { itemId, userId: aBidder(), amountCents: '2000' }).catch((e: unknown) => e);
      await lock.release();
      expect(refused, 'a bid behind a held row lock, with lock_timeout 300 ms').toBeInstanceOf(Busy);
      // ...and gone after a bid that commits (a session-level setting survives COMMIT, not ROLLBACK).
      await place(deps, { itemId, userId: aBidder(), amountCents: '2000' });
      expect(
        await settings(),
        'the pooled connection after a committed bid: set lock_timeout and statement_timeout for the transaction only (SET LOCAL, or set_config(…, true)); set for the session, they stay on the connection and bound the next, unrelated query that borrows it',
      ).toEqual(before);
    } finally {
      await db.end();
    }
  });
});

describe('runBidTransaction', () => {
  it.each([
    ['40P01', 'a deadlock'],
    ['40001', 'a serialization failure'],
  ])('runs the bid again when its transaction fails once with %s (%s): the bid succeeds, written once', async (code, what) => {
    const itemId = await openItem(env.db);
    const name = `fail_once_${code.toLowerCase()}`;
    // A failpoint in the database: the first insert of a bid on this item fails with `code`.
    // A sequence, because nextval is not rolled back with the failed transaction.
    await env.db.query(`CREATE SEQUENCE ${name}`);
    await env.db.query(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF nextval('${name}') = 1 THEN RAISE EXCEPTION 'injected ${what}' USING ERRCODE = '${code}'; END IF;
         RETURN NEW;
       END $$`,
    );
    await env.db.query(`CREATE TRIGGER ${name} BEFORE INSERT ON bids FOR EACH ROW WHEN (NEW.item_id = '${itemId}') EXECUTE FUNCTION ${name}()`);
    try {
      const outcome = await placeBid(env, { itemId, userId: aBidder(), amountCents: '2000' }).then(
        () => 'placed',
        (err: Error) => `refused: ${err.name}: ${err.message}`,
      );
      expect(outcome, `a bid whose transaction met ${what} (${code}) once: runBidTransaction must run the whole transaction again through withRetries`).toBe(
        'placed',
      );
      expect((await snapshot(env.db, itemId)).bids, 'bids written').toHaveLength(1);
    } finally {
      await env.db.query(`DROP TRIGGER ${name} ON bids; DROP FUNCTION ${name}(); DROP SEQUENCE ${name}`);
    }
  });
});

describe("the caller's deadline bounds the whole bid", () => {
  afterEach(() => clearFailpoints());

  it('a bid still in its transaction when the deadline passes is rolled back with DeadlineExceeded', async () => {
    const itemId = await openItem(env.db);
    // Every statement is quick; the time goes between them, where no statement_timeout looks.
    setFailpoint('bid.before-commit', 'delay(400)@1');
    const err = await placeBid(env, { itemId, userId: aBidder(), amountCents: '2000' }, { deadline: performance.now() + 200 }).catch((e: unknown) => e);
    expect(failpointHits('bid.before-commit'), 'the bid reached the end of its transaction').toBe(1);
    expect(err, 'the answer once the deadline passed').toMatchObject({ name: 'DeadlineExceeded' });
    expect((await snapshot(env.db, itemId)).bids, 'bids written').toEqual([]);
  });

  it('a bid waiting for a pooled connection gives up at the deadline, not at the pool timeout', async () => {
    const itemId = await openItem(env.db);
    const pool = createDb({ url: env.config.databaseUrl, log: env.log, max: 1 });
    const busy = await pool.connect();
    let released = false;
    const releaseBusy = () => void (released || ((released = true), busy.release()));
    const release = setTimeout(releaseBusy, 1_000);
    try {
      const started = performance.now();
      const err = await placeBid({ ...env, db: pool }, { itemId, userId: aBidder(), amountCents: '2000' }, { deadline: performance.now() + 200 }).catch(
        (e: unknown) => e,
      );
      expect(err, 'the answer of a bid that never got a connection in time').toMatchObject({ name: 'DeadlineExceeded' });
      expect(performance.now() - started, 'ms until the answer').toBeLessThan(900);
    } finally {
      clearTimeout(release);
      releaseBusy();
      await pool.end();
    }
    expect((await snapshot(env.db, itemId)).bids, 'bids written').toEqual([]);
  });
});

describe('withRetries', () => {
  it('retries a real deadlock and both transactions end up committed', async () => {
    const [a, b] = [await openItem(env.db), await openItem(env.db)];
    let attempts = 0;
    let bothLocked!: () => void;
    const barrier = new Promise<void>((r) => (bothLocked = r));
    let arrived = 0;
    const arrive = async () => {
      if (++arrived === 2) bothLocked();
      await Promise.race([barrier, new Promise((r) => setTimeout(r, 2_000))]);
    };
    // Opposite lock order: A then B, and B then A. PostgreSQL aborts one with 40P01.
    const transfer = (first: string, second: string) =>
      withRetries(
        async () => {
          attempts++;
          const client = await env.db.connect();
          try {
            await client.query('BEGIN');
            await client.query('UPDATE items SET title = title WHERE id = $1', [first]);
            await arrive();
            await client.query('UPDATE items SET title = title WHERE id = $1', [second]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          } finally {
            client.release();
          }
        },
        { maxAttempts: 5 },
      );
    await expect(Promise.all([transfer(a, b), transfer(b, a)])).resolves.toBeDefined();
    expect(attempts, 'attempts (2 first tries + at least 1 retry)').toBeGreaterThanOrEqual(3);
  });

  it('gives up after maxAttempts with RetriesExhausted, and never retries other errors', async () => {
    let calls = 0;
    const err = await withRetries(
      async () => {
        calls++;
        throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      },
      { maxAttempts: 3, baseDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhausted);
    expect({ attempts: (err as RetriesExhausted).attempts, lastCode: (err as RetriesExhausted).lastCode, calls }).toEqual({
      attempts: 3,
      lastCode: '40001',
      calls: 3,
    });

    let uniqueCalls = 0;
    const unique = await withRetries(
      async () => {
        uniqueCalls++;
        throw Object.assign(new Error('duplicate key'), { code: '23505' });
      },
      { maxAttempts: 3, baseDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect({ code: (unique as { code: string }).code, calls: uniqueCalls }).toEqual({ code: '23505', calls: 1 });
  });
});
