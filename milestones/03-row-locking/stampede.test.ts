// Milestone 3 · a stampede on one item: refuse what a committed bid already beats without the
// lock, and let at most two transactions per item wait on its row lock.
import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { AuctionEnded, BidTooLow } from '#app/errors.ts';
import { createDb } from '#runtime/db.ts';
import { startFaultProxy } from '#testkit/fault-proxy.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { lockWaiters } from '#testkit/lock-waiters.ts';
import { aBidder, openItem, snapshot } from './fixtures.ts';

const env = useTestEnv();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Another session holds the item's row lock until release() (or `maxHoldMs`, so a bid that never gives up fails instead of hanging). */
async function holdItemLock(itemId: string, maxHoldMs = 5_000) {
  const other = new pg.Client({ connectionString: env.config.databaseUrl });
  await other.connect();
  await other.query('BEGIN');
  await other.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [itemId]);
  const state = { held: true };
  let released: Promise<void> | undefined;
  const release = () => (released ??= ((state.held = false), other.query('ROLLBACK').then(() => other.end())));
  setTimeout(() => void release(), maxHoldMs).unref();
  return { release, state };
}

/** lock_timeout long enough that a bid which waits for the held lock cannot be answered before the test releases it. */
const patient = () => ({ ...env, config: { ...env.config, bidding: { ...env.config.bidding, lockTimeoutMs: 4_000 } } });

describe('placeBid refuses what a committed bid already beats, without waiting for the lock', () => {
  it('refuses a too-low bid with BidTooLow and the committed facts while another session holds the item lock', async () => {
    const itemId = await openItem(env.db);
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '2000' });
    const lock = await holdItemLock(itemId);
    let err: unknown;
    try {
      err = await placeBid(patient(), { itemId, userId: aBidder(), amountCents: '1500' }).catch((e: unknown) => e);
      expect(lock.state.held, 'the lock was still held when the answer came: the bid did not wait for it').toBe(true);
    } finally {
      await lock.release();
    }
    expect(err).toBeInstanceOf(BidTooLow);
    expect(err).toMatchObject({ currentCents: 2000n, minimumNextCents: 2000n + env.config.bidding.minIncrementCents });
    expect((await snapshot(env.db, itemId)).bids.map((b) => b.amount_cents)).toEqual([2000n]);
  });

  it('answers the refusals the locked check would give: a replayed request its original bid, an ended auction AuctionEnded', async () => {
    const itemId = await openItem(env.db, 1_000n, "interval '1500 milliseconds'");
    const first = await placeBid(env, { itemId, userId: aBidder(), amountCents: '2000', requestId: 'r1' });
    const me = first.userId;
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '3000' });
    const lock = await holdItemLock(itemId);
    let replay: unknown;
    try {
      // The same request again, now below the highest bid: the same answer as the first time, not BidTooLow.
      replay = await placeBid(patient(), { itemId, userId: me, amountCents: '2000', requestId: 'r1' }).catch((e: unknown) => e);
      expect(lock.state.held, 'answered while the lock was held').toBe(true);
    } finally {
      await lock.release();
    }
    expect(replay, 'the replayed request').toMatchObject({ id: first.id, sequence: first.sequence });
    // The auction ends (by the database's clock); a too-low bid on it is told the auction ended.
    while (!(await env.db.query<{ ended: boolean }>('SELECT end_at <= clock_timestamp() AS ended FROM items WHERE id = $1', [itemId])).rows[0]!.ended)
      await sleep(100);
    const again = await holdItemLock(itemId);
    let ended: unknown;
    try {
      ended = await placeBid(patient(), { itemId, userId: aBidder(), amountCents: '2500' }).catch((e: unknown) => e);
      expect(again.state.held, 'answered while the lock was held').toBe(true);
    } finally {
      await again.release();
    }
    expect(ended, 'a too-low bid on an ended auction').toBeInstanceOf(AuctionEnded);
    expect((await snapshot(env.db, itemId)).bids.map((b) => b.amount_cents)).toEqual([2000n, 3000n]);
  });

  it('refuses as AuctionEnded a too-low bid just after the end, though the end was read a moment before it', async () => {
    const itemId = await openItem(env.db, 1_000n, "interval '700 milliseconds'");
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '2000' });
    // Refused while open: the refusal reads the item's end and the database's clock.
    await expect(placeBid(env, { itemId, userId: aBidder(), amountCents: '1500' })).rejects.toBeInstanceOf(BidTooLow);
    while (!(await env.db.query<{ ended: boolean }>('SELECT end_at <= clock_timestamp() AS ended FROM items WHERE id = $1', [itemId])).rows[0]!.ended)
      await sleep(20);
    // Well within a second of that read, the auction has ended by the database's clock.
    await expect(placeBid(env, { itemId, userId: aBidder(), amountCents: '1500' })).rejects.toBeInstanceOf(AuctionEnded);
  });

  it('never refuses a bid the locked check would accept: one bid at a time, every answer is the model auction’s (property)', async () => {
    const increment = env.config.bidding.minIncrementCents;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 5, max: 40 }), { minLength: 1, maxLength: 12 }), async (hundreds) => {
        const itemId = await openItem(env.db);
        let highest: bigint | null = null;
        for (const h of hundreds) {
          const amount = BigInt(h) * 100n;
          const minimum = highest === null ? 1_000n : highest + increment;
          const answer = await placeBid(env, { itemId, userId: aBidder(), amountCents: String(amount) }).catch((e: unknown) => e);
          if (amount >= minimum) {
            expect(answer, `${amount} against a minimum of ${minimum}`).toMatchObject({ amountCents: amount });
            highest = amount;
          } else expect(answer, `${amount} against a minimum of ${minimum}`).toMatchObject({ name: 'BidTooLow', minimumNextCents: minimum });
        }
      }),
      { numRuns: 15 },
    );
  });

  it('bids racing on one item: every refusal names a committed bid that beats it, and accepted amounts rise (property)', async () => {
    const increment = env.config.bidding.minIncrementCents;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 10, max: 60 }), { minLength: 2, maxLength: 24 }), async (hundreds) => {
        const itemId = await openItem(env.db);
        const answers = await Promise.all(
          hundreds.map((h) => placeBid(env, { itemId, userId: aBidder(), amountCents: String(BigInt(h) * 100n) }).catch((e: unknown) => e)),
        );
        const { bids, item } = await snapshot(env.db, itemId);
        const committed = new Set(bids.map((b) => b.amount_cents));
        answers.forEach((answer, i) => {
          const amount = BigInt(hundreds[i]!) * 100n;
          if (answer instanceof BidTooLow) {
            if (answer.currentCents === undefined) expect(amount, 'refused with no bid yet: below the start price').toBeLessThan(1_000n);
            else {
              expect(committed.has(answer.currentCents), `the refusal of ${amount} names ${answer.currentCents}, a committed bid`).toBe(true);
              expect(amount, 'the refused amount is below the named bid plus the increment').toBeLessThan(answer.currentCents + increment);
            }
          } else expect(answer, `the answer to ${amount}`).toMatchObject({ amountCents: amount });
        });
        for (const [i, b] of bids.entries()) {
          if (i > 0)
            expect(b.amount_cents, 'accepted amounts rise by the increment in sequence order').toBeGreaterThanOrEqual(bids[i - 1]!.amount_cents + increment);
        }
        expect(item.highest_bid_cents, 'the highest bid is the last accepted').toBe(bids.at(-1)?.amount_cents ?? null);
      }),
      { numRuns: 10 },
    );
  });
});

describe('a stampede of too-low bids asks the database for the item’s clock once, not once per bid', () => {
  /**
   * A pool of its own (what placeBid knows is kept per pool), counting the connections it hands
   * out: a bid refused without any is refused without a round trip.
   */
  function countingPool() {
    const db = createDb({ url: env.config.databaseUrl, log: env.log });
    const taken = { acquired: 0, released: 0 };
    db.on('acquire', () => taken.acquired++);
    db.on('release', () => taken.released++);
    const idle = async () => {
      while (taken.released < taken.acquired) await sleep(10);
    };
    return { deps: { ...env, db }, db, taken, idle };
  }
  const tooLow = (deps: typeof env, itemId: string) => placeBid(deps, { itemId, userId: aBidder(), amountCents: '1500' });

  it('twenty too-low bids arriving after the clock expired share one read of it', async () => {
    const { deps, db, taken } = countingPool();
    try {
      const itemId = await openItem(db);
      await placeBid(deps, { itemId, userId: aBidder(), amountCents: '2000' });
      await expect(tooLow(deps, itemId), 'the first refusal reads the clock').rejects.toBeInstanceOf(BidTooLow);
      await sleep(1_100); // longer than a read of the clock is trusted
      const before = taken.acquired;
      const answers = await Promise.all(Array.from({ length: 20 }, () => tooLow(deps, itemId).catch((e: unknown) => e)));
      for (const a of answers) expect(a).toMatchObject({ name: 'BidTooLow', currentCents: 2000n });
      expect(taken.acquired - before, 'connections the twenty refusals took: one read of the clock, shared').toBe(1);
    } finally {
      await db.end();
    }
  });

  it('a refusal after half the clock’s trust renews it unawaited: the refusal after it expired makes no round trip', async () => {
    const { deps, db, taken, idle } = countingPool();
    try {
      const itemId = await openItem(db);
      await placeBid(deps, { itemId, userId: aBidder(), amountCents: '2000' });
      await expect(tooLow(deps, itemId), 'the first refusal reads the clock').rejects.toBeInstanceOf(BidTooLow);
      await sleep(600);
      await expect(tooLow(deps, itemId), 'refused from the clock it has, renewing it').rejects.toBeInstanceOf(BidTooLow);
      await idle();
      await sleep(500); // the first read is now older than it is trusted; the renewal is not
      const before = taken.acquired;
      await expect(tooLow(deps, itemId)).rejects.toBeInstanceOf(BidTooLow);
      expect(taken.acquired - before, 'connections the refusal took').toBe(0);
    } finally {
      await db.end();
    }
  });

  it('a read of the clock that comes back after a newer one does not replace it: the newer read keeps answering refusals', async () => {
    // Two connections through a proxy that can slow one read down: chunks already held keep
    // their delay when the proxy's latency changes, so a read sent first can come back last.
    const proxy = await startFaultProxy({ target: env.config.databaseUrl });
    const db = createDb({ url: proxy.url(env.config.databaseUrl), log: env.log, max: 2 });
    const deps = { ...env, db };
    try {
      const itemId = await openItem(db);
      await placeBid(deps, { itemId, userId: aBidder(), amountCents: '2000' });
      await Promise.all([db.query('SELECT pg_sleep(0.05)'), db.query('SELECT pg_sleep(0.05)')]); // both connections open
      proxy.latency(1_200);
      // A too-low bid with a request id makes its own read of the item and the clock, held 1.2 s on its way.
      const early = placeBid(deps, { itemId, userId: aBidder(), amountCents: '1500', requestId: 'slow-read' }).catch((e: unknown) => e);
      await sleep(900);
      proxy.latency(0);
      // 0.9 s later a too-low bid finds no clock yet and reads one (readClock): sent last, back first.
      await expect(tooLow(deps, itemId)).rejects.toBeInstanceOf(BidTooLow);
      expect(await early, 'the bid whose read was held').toBeInstanceOf(BidTooLow);
      // The held read was sent more than a second ago: expired. The newer one, sent about 0.3 s
      // ago, proves the auction open for 0.7 s more, so the next refusal needs no round trip,
      // and a slow network cannot delay it.
      proxy.latency(1_000);
      const sent = performance.now();
      await expect(tooLow(deps, itemId)).rejects.toBeInstanceOf(BidTooLow);
      expect(performance.now() - sent, 'ms to refuse a too-low bid while a round trip takes 2 s').toBeLessThan(500);
    } finally {
      proxy.latency(0);
      await db.end();
      await proxy.close();
    }
  });
});

describe('placeBid admits at most two transactions per item; the rest wait in the process', () => {
  it('twenty bids behind a held item lock hold at most two connections; a bid on another item commits before the lock is released', async () => {
    const hot = await openItem(env.db);
    const other = await openItem(env.db);
    const lock = await holdItemLock(hot);
    let bids: Promise<unknown[]> | undefined;
    try {
      bids = Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          placeBid(patient(), { itemId: hot, userId: aBidder(), amountCents: String(2_000 + i * 100) }).catch((e: unknown) => e),
        ),
      );
      while ((await lockWaiters(env.db)).length === 0 && lock.state.held) await sleep(20);
      await sleep(300);
      expect((await lockWaiters(env.db)).length, 'transactions waiting for the held item lock').toBeLessThanOrEqual(2);
      const elsewhere = await placeBid(env, { itemId: other, userId: aBidder(), amountCents: '2000' });
      expect(lock.state.held, 'the bid on another item was answered while the hot item was still locked').toBe(true);
      expect(elsewhere.amountCents).toBe(2000n);
    } finally {
      await lock.release();
    }
    const answers = await bids;
    for (const a of answers)
      expect(a instanceof BidTooLow || (a as { amountCents?: bigint }).amountCents !== undefined, `each bid accepted or BidTooLow: ${String(a)}`).toBe(true);
    const { bids: written } = await snapshot(env.db, hot);
    for (const [i, b] of written.entries()) if (i > 0) expect(b.amount_cents).toBeGreaterThan(written[i - 1]!.amount_cents);
  });
});
