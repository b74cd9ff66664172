// Milestone 2 · the relay: what it publishes, how it wakes, and what it does with rows it can never publish.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { OUTBOX_CHANNEL } from '#app/outbox/outbox-event.ts';
import { listenForWork } from '#app/outbox/wait-for-work.ts';
import { BID_PLACED, bidPlacedToProto } from '#runtime/events/bid-placed.ts';
import { clearFailpoints, setFailpoint } from '#runtime/failpoints.ts';
import { withCorrelationId } from '#runtime/logger.ts';
import { collectEvents, type EventCollector } from '#testkit/event-collector.ts';
import { eventually } from '#testkit/eventually.ts';
import { countNotifications } from '#testkit/notifications.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { patient } from '#testkit/patience.ts';
import { aBidder, count, inProcessRelay, metricValue, openItem, pendingOutbox, type RunningRelay } from './fixtures.ts';

const env = useTestEnv();
let relay: RunningRelay | undefined;
let collector: EventCollector | undefined;

afterEach(async () => {
  // A relay left running would publish into the next test.
  await relay?.close();
  await collector?.close();
  relay = undefined;
  collector = undefined;
  await env.db.query('TRUNCATE outbox, bids');
});

const listen = async () => (collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange }));

/** 'woke' if the wait ends within `limitMs`, else 'still waiting'. */
async function wokeWithin(wait: Promise<unknown>, limitMs = patient(10_000)): Promise<'woke' | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      wait.then(() => 'woke' as const),
      new Promise<'still waiting'>((resolve) => {
        timer = setTimeout(() => resolve('still waiting'), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An outbox row written in `tx` (its own transaction), so a test decides when it commits. */
async function insertOutboxRow(tx: { query: (sql: string, params: unknown[]) => Promise<unknown> }, itemId: string): Promise<string> {
  const id = randomUUID();
  const payload = bidPlacedToProto({
    eventId: id,
    itemId,
    bidId: randomUUID(),
    userId: aBidder(),
    amountCents: 5n,
    sequence: 1n,
    placedAt: new Date(),
    correlationId: 'late-commit',
  });
  await tx.query(`INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, routing_key, payload) VALUES ($1, 'item', $2, $3, 'bid.placed', $4)`, [
    id,
    itemId,
    BID_PLACED,
    Buffer.from(payload),
  ]);
  return id;
}

describe('relay', () => {
  it('publishes each event as a persistent message whose id is the outbox row id, with its type and correlation id, and marks it', async () => {
    await listen();
    relay = await inProcessRelay(env);
    const itemId = await openItem(env.db);
    const bid = await withCorrelationId('req-relay-7', () => placeBid(env, { itemId, userId: aBidder(), amountCents: '9007199254740993' }));
    await relay.drain();
    const [message] = await collector!.waitFor(1);
    const { rows } = await env.db.query<{ id: string; published_at: Date | null }>('SELECT id, published_at FROM outbox');
    expect(message).toMatchObject({
      messageId: rows[0]!.id,
      type: BID_PLACED,
      routingKey: 'bid.placed',
      persistent: true,
      headers: { 'x-correlation-id': 'req-relay-7' },
    });
    expect(message!.event).toMatchObject({ eventId: rows[0]!.id, bidId: bid.id, amountCents: 9007199254740993n, correlationId: 'req-relay-7' });
    expect(rows[0]!.published_at, 'published_at').toBeInstanceOf(Date);
    expect(await metricValue(relay.metrics, 'auction_outbox_published_total')).toBe(1);
  });

  it('wakes on NOTIFY when a bid commits, without waiting for the poll', async () => {
    await listen();
    relay = await inProcessRelay(env, { pollMs: 600_000 });
    relay.relay.start();
    // The relay's LISTEN connection is up once PostgreSQL shows it done with its LISTEN (a NOTIFY
    // before that is lost): idle after it, not still running it.
    const listening = () =>
      count(env.db, `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND state = 'idle'`);
    await eventually(
      async () => (relay!.relay.failure ? Promise.reject(relay!.relay.failure) : listening()),
      (n) => n > 0,
      'a LISTEN connection',
    );
    const itemId = await openItem(env.db);
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
    await relay.delivered(collector!, 1);
  });

  it('is woken after the bid commits, by a NOTIFY sent outside the bid’s transaction', async () => {
    // The test listens itself, and holds the wake-up (wakeRelay's failpoint) until it has seen
    // the bid committed: a NOTIFY that arrives meanwhile came from inside the bid's transaction.
    const listener = await countNotifications(env.config.databaseUrl, OUTBOX_CHANNEL);
    try {
      setFailpoint('outbox.before-wake', 'pause@1');
      const itemId = await openItem(env.db);
      await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
      expect(await count(env.db, 'SELECT count(*) AS n FROM outbox'), 'outbox rows once placeBid returned').toBe(1);
      // Time for a NOTIFY sent at the bid's commit to reach this connection.
      await new Promise((r) => setTimeout(r, patient(300)));
      expect(
        listener.heard(),
        'NOTIFYs heard between the bid’s COMMIT and its wake-up: the bid’s own transaction notified. Wake the relay with wakeRelay(deps.db) after runBidTransaction returns, not with pg_notify in enqueueEvent',
      ).toBe(0);
      clearFailpoints();
      await eventually(
        async () => listener.heard(),
        (n) => n > 0,
        'a NOTIFY on auction_outbox once the bid had committed: placeBid calls wakeRelay(deps.db) after its transaction',
      );
    } finally {
      clearFailpoints();
      await listener.close();
    }
  });

  it('wakes once its LISTEN connection is up: a row that committed before the LISTEN took effect had no one to notify', async () => {
    // No NOTIFY is sent and the poll is ten minutes away: only the connection coming up can end
    // this wait. Without that wake, a bid committed while the LISTEN connection was (re)connecting
    // waits for the poll (seen under load: a relay started with a long poll never published it).
    const listener = listenForWork({ databaseUrl: env.config.databaseUrl, log: env.log });
    const limitMs = patient(10_000);
    try {
      const outcome = await wokeWithin(listener.signal().wait(600_000), limitMs);
      expect(outcome, `wait(600 s) ${limitMs} ms after listenForWork, with no NOTIFY: it should end once the LISTEN connection is up`).toBe('woke');
    } finally {
      await listener.close();
    }
  });

  it('does not sleep through a NOTIFY that came while the relay was busy, not waiting', async () => {
    const listener = listenForWork({ databaseUrl: env.config.databaseUrl, log: env.log });
    const signal = listener.signal();
    try {
      // The LISTEN connection is up once a wait ends without a NOTIFY (the test above).
      await wokeWithin(signal.wait(600_000));
      // Now no one waits, as while the relay reads the table: a row commits and notifies.
      await env.db.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
      // Time for PostgreSQL to deliver it to the LISTEN connection, which no wait() is watching.
      await new Promise((r) => setTimeout(r, patient(300)));
      const outcome = await wokeWithin(signal.wait(600_000));
      expect(outcome, `the relay's next wait(600 s), after a NOTIFY that came while it was not waiting: it should return at once`).toBe('woke');
    } finally {
      await listener.close();
    }
  });

  it('does not let one loop sleep through a NOTIFY that came while it was busy and another loop waited', async () => {
    // The relay runs a loop per partition, each waiting on its own signal of the one LISTEN
    // connection. A bid in partition 1 commits while loop 1 is still reading its partition (a
    // read that began before the commit) and loop 0, idle, waits: loop 0 wakes and finds nothing.
    const listener = listenForWork({ databaseUrl: env.config.databaseUrl, log: env.log });
    const [loop0, loop1] = [listener.signal(), listener.signal()];
    try {
      // The LISTEN connection is up once both loops' first waits end without a NOTIFY.
      expect(await wokeWithin(Promise.all([loop0.wait(600_000), loop1.wait(600_000)])), 'both loops woke once the LISTEN was up').toBe('woke');
      const loop0Waits = loop0.wait(600_000);
      await env.db.query(`SELECT pg_notify('${OUTBOX_CHANNEL}', '')`);
      // Loop 0 woke: the NOTIFY reached the LISTEN connection while loop 1 was not waiting.
      expect(await wokeWithin(loop0Waits), "loop 0's wait(600 s), which a NOTIFY should end").toBe('woke');
      // At once: nothing is left to wait for, so a second is plenty.
      const outcome = await wokeWithin(loop1.wait(600_000), patient(1_000));
      expect(outcome, `loop 1's next wait(600 s), after a NOTIFY that woke loop 0 while loop 1 was busy: it should return at once`).toBe('woke');
    } finally {
      await listener.close();
    }
  });

  it('still finds a row that committed without a NOTIFY, by polling', async () => {
    await listen();
    relay = await inProcessRelay(env, { pollMs: 200 });
    relay.relay.start();
    const itemId = await openItem(env.db);
    const id = randomUUID();
    const payload = bidPlacedToProto({
      eventId: id,
      itemId,
      bidId: randomUUID(),
      userId: aBidder(),
      amountCents: 5n,
      sequence: 1n,
      placedAt: new Date(),
      correlationId: 'no-notify',
    });
    await env.db.query(
      `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, routing_key, payload) VALUES ($1, 'item', $2, $3, 'bid.placed', $4)`,
      [id, itemId, BID_PLACED, Buffer.from(payload)],
    );
    await relay.delivered(collector!, 1);
    expect(collector!.messages[0]!.messageId).toBe(id);
  });

  it('sets aside a malformed, an oversize and an unknown row with the reason, counted, and publishes the rows behind them', async () => {
    await listen();
    relay = await inProcessRelay(env, { maxPayloadBytes: 1_024 });
    const itemId = await openItem(env.db);
    const bad = [
      ['garbage', BID_PLACED, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
      ['oversize', BID_PLACED, Buffer.alloc(2_048, 1)],
      ['unknown', 'auction.events.v1.Nonsense', Buffer.from('{}')],
    ] as const;
    for (const [, type, payload] of bad) {
      await env.db.query(`INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload) VALUES ('item', $1, $2, 'bid.placed', $3)`, [
        itemId,
        type,
        payload,
      ]);
    }
    for (let i = 0; i < 3; i++) await placeBid(env, { itemId, userId: aBidder(), amountCents: String(1_000 * (i + 1)) });
    await relay.drain();
    await collector!.waitFor(3);
    const { rows } = await env.db.query<{ event_type: string; last_error: string | null; failed_at: Date | null; published_at: Date | null }>(
      'SELECT event_type, last_error, failed_at, published_at FROM outbox ORDER BY position',
    );
    expect(rows.slice(0, 3).map((r) => [r.failed_at !== null, r.published_at, r.last_error])).toEqual([
      [true, null, expect.stringMatching(/not a valid auction\.events\.v1\.BidPlaced/)],
      [true, null, expect.stringMatching(/2048 bytes is over the 1024-byte limit/)],
      [true, null, expect.stringMatching(/unknown event type "auction\.events\.v1\.Nonsense"/)],
    ]);
    expect(
      rows.slice(3).every((r) => r.published_at !== null && r.failed_at === null),
      'the good rows behind them are published',
    ).toBe(true);
    expect(collector!.messages).toHaveLength(3);
    expect(await metricValue(relay.metrics, 'auction_outbox_set_aside_total')).toBe(3);
    expect(await pendingOutbox(env.db)).toBe(0);
  });

  it('publishes the other pending rows without waiting for one that another transaction holds locked', async () => {
    await listen();
    relay = await inProcessRelay(env);
    const itemId = await openItem(env.db);
    for (let i = 0; i < 3; i++) await placeBid(env, { itemId, userId: aBidder(), amountCents: String(1_000 * (i + 1)) });
    const holder = await env.db.connect();
    let batch: Promise<unknown> | undefined;
    try {
      await holder.query('BEGIN');
      const { rows } = await holder.query<{ id: string }>('SELECT id FROM outbox ORDER BY position LIMIT 1 FOR UPDATE');
      const bound = patient(3_000);
      batch = relay!.relay.relayBatch();
      const outcome = await Promise.race([batch, new Promise((r) => setTimeout(() => r('still waiting'), bound))]);
      expect(
        outcome === 'still waiting' ? `still waiting after ${bound} ms` : 'returned',
        'one batch of the relay while another transaction holds the first pending row locked: claimBatch must pass over a locked row (FOR UPDATE SKIP LOCKED), not wait for it',
      ).toBe('returned');
      expect(outcome, 'that batch').toMatchObject({ claimed: 2, published: 2 });
      await collector!.waitFor(2);
      expect(
        collector!.messages.map((m) => m.messageId),
        'published while locked elsewhere',
      ).not.toContain(rows[0]!.id);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      await batch?.catch(() => undefined);
    }
    await relay.drain();
    expect(
      await pendingOutbox(env.db),
      'rows left unpublished once the lock was released: the next batch must claim the row it passed over (no "position > last seen" cursor)',
    ).toBe(0);
    await collector!.waitFor(3);
  });

  it('publishes a row that took a smaller position but committed after a larger one was published', async () => {
    await listen();
    relay = await inProcessRelay(env);
    const itemId = await openItem(env.db);
    const slow = await env.db.connect();
    let lateId: string;
    try {
      // Takes its position first, commits last: two transactions committing out of order.
      await slow.query('BEGIN');
      lateId = await insertOutboxRow(slow, itemId);
      await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
      await relay.drain();
      await collector!.waitFor(1);
      await slow.query('COMMIT');
    } finally {
      await slow.query('ROLLBACK').catch(() => undefined);
      slow.release();
    }
    // The same relay, run again: whatever it remembers from the first run must not hide the late row.
    await relay.drain();
    expect(
      await pendingOutbox(env.db),
      'rows left unpublished after a row with a smaller position committed late: claim every pending row (published_at IS NULL) in position order; a "position > last seen" cursor skips such a row for ever',
    ).toBe(0);
    await collector!.waitFor(2);
    expect(collector!.messages.map((m) => m.messageId)).toContain(lateId!);
  });

  it('counts an event the broker returns because no queue is bound, instead of losing it silently', async () => {
    relay = await inProcessRelay(env);
    const itemId = await openItem(env.db);
    await placeBid(env, { itemId, userId: aBidder(), amountCents: '100' });
    await relay.drain();
    for (let i = 0; i < 50 && (await metricValue(relay.metrics, 'auction_outbox_unroutable_total')) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(
      await metricValue(relay.metrics, 'auction_outbox_unroutable_total'),
      'events the broker returned because no queue is bound: publish with mandatory: true, or an unroutable event vanishes without a trace',
    ).toBe(1);
    expect(await count(env.db, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL')).toBe(1);
  });
});
