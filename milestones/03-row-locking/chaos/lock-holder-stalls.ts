// A session takes the item's row lock and stalls for 3 s (a long report, a stuck migration).
// Bids must fail fast with Busy (lock_timeout), not pile up, and succeed once it lets go.
// Then the same stall with more bids at once than the pool has connections, with and without
// a lock_timeout: with one, a bid on another item still gets a connection while the lock is
// held; without one, only the two transactions bid-service admits per item wait on the stalled
// lock (item-admission.ts), the rest wait in the process, and the other item's bid still gets
// a connection at once (question 3 of the lesson).
import { randomUUID } from 'node:crypto';
import { bidInvariantViolations } from '../lib/bid-invariants.ts';
import { postBid } from '#testkit/http-load.ts';
import { lockWaiters } from '#testkit/lock-waiters.ts';
import { openItems } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';

const LOCK_TIMEOUT_MS = 300;
/** createDb's pool size (runtime/db.ts): the connections one bid-service has for bids. */
const POOL_CONNECTIONS = 10;
/** Bids sent at once to the stalled item: more than the pool has connections. */
const BURST = POOL_CONNECTIONS + 2;
/** Bid transactions bid-service lets in per item at once (IN_FLIGHT_PER_ITEM, bidding/item-admission.ts). */
const ADMITTED_PER_ITEM = 2;
/** "No lock_timeout": longer than any stall here (the statement_timeout is raised with it). */
const UNBOUNDED_MS = 60_000;

type Answer = { status: number; code?: string };

/** Sends BURST bids at once to the stalled item, and then one to another item. */
function burst(serviceUrl: string, stalledItem: string, otherItem: string, from: number) {
  const onStalled = Array.from({ length: BURST }, (_, i) =>
    postBid(serviceUrl, stalledItem, { userId: randomUUID(), amountCents: String(from + 1_000 * (i + 1)) }),
  );
  return { onStalled, onOther: () => timed(postBid(serviceUrl, otherItem, { userId: randomUUID(), amountCents: '1000' })) };
}

async function timed(answer: Promise<Answer>): Promise<Answer & { at: number }> {
  const a = await answer;
  return { ...a, at: performance.now() };
}

export const scenario: ChaosScenario = {
  name: 'lock-holder-stalls',
  milestone: 3,
  summary: `Holds the item's row lock for 3 s while bids arrive; with lock_timeout ${LOCK_TIMEOUT_MS} ms each must fail fast with Busy, ${BURST} at once must not take the pool from a bid on another item, and all succeed after the lock is released. Then the same stall without lock_timeout: only ${ADMITTED_PER_ITEM} connections may wait for the lock, and the other item's bid must still be answered while it is held.`,
  async run(ctx) {
    const env = await ctx.instance();
    const { database, config } = env;
    const service = await env.service('bid-service.ts', { config: { ...config, bidding: { ...config.bidding, lockTimeoutMs: LOCK_TIMEOUT_MS } } });
    const holder = await env.pgClient();
    const [itemId] = await openItems(database.url, 1);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [itemId]);
    ctx.say('a session holds the item row lock');
    const during: Array<{ status: number; code?: string; ms: number }> = [];
    const stallEnds = Date.now() + 3_000;
    let amount = 1_000;
    while (Date.now() < stallEnds - 500) {
      const started = performance.now();
      const answer = await postBid(service.url, itemId!, { userId: randomUUID(), amountCents: String((amount += 1_000)) });
      during.push({ ...answer, ms: performance.now() - started });
    }
    await sleep(Math.max(0, stallEnds - Date.now()));
    // Still holding the lock: more bids at once than the pool has connections, then one on another item.
    const [otherItem] = await openItems(database.url, 1);
    const bounded = burst(service.url, itemId!, otherItem!, (amount += 1_000));
    amount += 1_000 * BURST;
    const sentOther = performance.now();
    const other = await bounded.onOther();
    const stillHeld = performance.now();
    const burstAnswers = await Promise.all(bounded.onStalled);
    await holder.query('ROLLBACK');
    ctx.say('the lock is released');
    const after: Array<{ status: number; code?: string }> = [];
    for (let i = 0; i < 10; i++) after.push(await postBid(service.url, itemId!, { userId: randomUUID(), amountCents: String((amount += 1_000)) }));
    const busy = during.filter((a) => a.code === 'unavailable').length;
    const slowest = Math.max(...during.map((a) => a.ms));
    const acceptedAfter = after.filter((a) => a.status === 201).length;
    const burstBusy = burstAnswers.filter((a) => a.code === 'unavailable').length;
    const otherBeforeRelease = other.status === 201 && other.at <= stillHeld;
    const violations = await bidInvariantViolations(database.url, itemId!, config.bidding.minIncrementCents);
    await service.stop('SIGTERM');

    // The same stall without a lock_timeout: admission keeps all but two connections out of the wait.
    const unbounded = await env.service('bid-service.ts', {
      config: { ...config, bidding: { ...config.bidding, lockTimeoutMs: UNBOUNDED_MS, statementTimeoutMs: UNBOUNDED_MS } },
    });
    const [stalledItem, otherItem2] = await openItems(database.url, 2);
    const holder2 = await env.pgClient();
    // Its own session: inside the holder's transaction, pg_stat_activity would be the snapshot of its first read.
    const observer = await env.pgClient();
    let waiting = 0;
    await holder2.query('BEGIN');
    await holder2.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [stalledItem]);
    const queued = burst(unbounded.url, stalledItem!, otherItem2!, 1_000);
    // Polls (not an assertion): until a bid waits for the lock, or 10 s; then gives the rest time to pile up.
    for (const giveUp = performance.now() + 10_000; (await lockWaiters(observer)).length === 0 && performance.now() < giveUp; ) await sleep(50);
    await sleep(500);
    waiting = (await lockWaiters(observer)).length;
    const sentOther2 = performance.now();
    const pending = queued.onOther();
    // Held for another second: a bid on another item that needs no more than a free connection is answered within it.
    await sleep(1_000);
    const released = performance.now();
    await holder2.query('ROLLBACK');
    const other2 = await pending;
    await Promise.all(queued.onStalled);
    const otherBeforeRelease2 = other2.status === 201 && other2.at < released;
    return {
      ok:
        during.length > 0 &&
        busy === during.length &&
        acceptedAfter === after.length &&
        violations.length === 0 &&
        burstBusy === BURST &&
        otherBeforeRelease &&
        waiting <= ADMITTED_PER_ITEM &&
        otherBeforeRelease2,
      line:
        `during the stall: ${during.length} bids · busy ${busy} · slowest answer ${(slowest / 1000).toFixed(2)} s (lock_timeout ${(LOCK_TIMEOUT_MS / 1000).toFixed(1)} s) · ` +
        `${BURST} bids at once (pool ${POOL_CONNECTIONS}): busy ${burstBusy}, a bid on another item ${other.status}${otherBeforeRelease ? ' while the lock was held' : ' only after the release'} (${((other.at - sentOther) / 1000).toFixed(2)} s) · ` +
        `after release: ${after.length} bids · accepted ${acceptedAfter} · invariant violations ${violations.length} · ` +
        `without lock_timeout: ${waiting} of ${POOL_CONNECTIONS} connections waiting for the lock (${BURST} bids sent), the bid on another item ${other2.status} ${otherBeforeRelease2 ? 'while the lock was held' : 'only after the release'} (${((other2.at - sentOther2) / 1000).toFixed(2)} s)`,
      facts: {
        during: during.length,
        busy,
        slowestMs: Math.round(slowest),
        burstBusy,
        otherBeforeRelease,
        acceptedAfter,
        violations: violations.length,
        waitingConnections: waiting,
        otherBeforeRelease2,
      },
    };
  },
};
