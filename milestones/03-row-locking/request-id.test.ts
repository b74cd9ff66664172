// Milestone 3 · a client retrying a request whose answer it lost gets the same bid, not a second one.
import { describe, expect, it } from 'vitest';
import { placeBid } from '#app/bidding/place-bid.ts';
import { placeBidOptimistic } from '#app/bidding/place-bid-optimistic.ts';
import { errorToHttp } from '#app/http/errors-to-http.ts';
import { bidderColumn } from '#testkit/bidder-column.ts';
import { clearFailpoints, failpointHits, setFailpoint } from '#runtime/failpoints.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { aBidder, endedItem, openItem, snapshot } from './fixtures.ts';

const env = useTestEnv();

describe.each([
  ['placeBid', placeBid],
  ['placeBidOptimistic', placeBidOptimistic],
])('%s with a request id', (_name, place) => {
  it('the same request sent twice at once and once more later: one bid, one event, three identical answers', async () => {
    const itemId = await openItem(env.db);
    const userId = aBidder();
    const request = { itemId, userId, amountCents: '2500', requestId: 'checkout-42' };
    const [first, second] = await Promise.all([place(env, request), place(env, request)]);
    const later = await place(env, request);
    const { bids, events } = await snapshot(env.db, itemId);
    expect({ bids: bids.length, events: events.length }).toEqual({ bids: 1, events: 1 });
    expect(second).toEqual(first);
    expect(later).toEqual(first);
    expect(first.id).toBe(bids[0]!.id);
  });

  it('a copy of the request that commits while this one waits for the item lock: its bid, not BidTooLow', async () => {
    const itemId = await openItem(env.db);
    const request = { itemId, userId: aBidder(), amountCents: '2500', requestId: 'checkout-43' };
    // The first copy pauses before COMMIT, holding the item's lock; the second starts then and waits for it.
    setFailpoint('bid.before-commit', 'delay(300)@1');
    try {
      const first = place(env, request);
      await Promise.race([
        eventually(
          async () => failpointHits('bid.before-commit'),
          (n) => n >= 1,
          'the first copy paused before its COMMIT',
        ),
        first.then(() => Promise.reject(new Error('the first copy finished without pausing at the failpoint'))),
      ]);
      const second = await place(env, request).catch((err: unknown) => err);
      expect(
        second,
        'the second copy, which waited for the lock while the first committed: a replay check that reads the snapshot taken before the wait (in the same statement as the lock) cannot see the first bid, and the rules then refuse the copy as too low',
      ).toEqual(await first);
      expect((await snapshot(env.db, itemId)).bids, 'bids').toHaveLength(1);
    } finally {
      clearFailpoints();
    }
  });

  it('the id sent again with another amount, or for another (even ended) item, is refused as RequestIdReused naming the original, and writes nothing', async () => {
    const itemId = await openItem(env.db);
    const userId = aBidder();
    const original = await place(env, { itemId, userId, amountCents: '2500', requestId: 'r-7' });
    const named = { name: 'RequestIdReused', requestId: 'r-7', original: { bidId: original.id, itemId, amountCents: 2500n } };

    const otherAmount = await place(env, { itemId, userId, amountCents: '2600', requestId: 'r-7' }).catch((e: unknown) => e);
    expect(otherAmount, 'the same id, another amount').toMatchObject(named);
    const ended = await endedItem(env.db);
    const otherItem = await place(env, { itemId: ended, userId, amountCents: '2500', requestId: 'r-7' }).catch((e: unknown) => e);
    expect(otherItem, 'the same id, another item whose auction ended').toMatchObject(named);
    expect(errorToHttp(otherAmount), 'its HTTP answer: what owns the id, money as a string of cents').toMatchObject({
      status: 409,
      body: {
        error: {
          code: 'request_id_reused',
          message: expect.stringMatching(/new request id/),
          requestId: 'r-7',
          original: { bidId: original.id, itemId, amountCents: '2500' },
        },
      },
    });

    expect(
      (await snapshot(env.db, itemId)).bids.map((b) => b.id),
      'bids on the first item',
    ).toEqual([original.id]);
    expect((await snapshot(env.db, ended)).bids, 'bids on the ended item').toEqual([]);
    expect(await place(env, { itemId, userId, amountCents: '2500', requestId: 'r-7' }), 'the original request, sent again').toEqual(original);
  });

  it('one id sent at the same moment for two items: one bid, the other refused as RequestIdReused', async () => {
    const [a, b] = [await openItem(env.db), await openItem(env.db)];
    const userId = aBidder();
    // Each bid pauses before COMMIT, so both have passed their replay check before either commits.
    setFailpoint('bid.before-commit', 'delay(300)');
    const outcomes = await Promise.allSettled([a, b].map((itemId) => place(env, { itemId, userId, amountCents: '2500', requestId: 'r-9' }))).finally(() =>
      clearFailpoints(),
    );
    const placed = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(
      placed,
      'bids accepted for one bidder and one request id, sent for two items at once: a check that reads before it inserts lets both through; the UNIQUE (bidder, request_id) constraint must refuse the second (23505), and its rerun answers RequestIdReused',
    ).toHaveLength(1);
    expect(refused, 'refused').toMatchObject([{ name: 'RequestIdReused', requestId: 'r-9', original: { bidId: placed[0]!.id, itemId: placed[0]!.itemId } }]);
    const written = [...(await snapshot(env.db, a)).bids, ...(await snapshot(env.db, b)).bids];
    expect(
      written.map((w) => w.id),
      'bids on both items',
    ).toEqual([placed[0]!.id]);
  });

  it('another bidder using the same request id is a different request', async () => {
    const itemId = await openItem(env.db);
    const [ann, ben] = [aBidder(), aBidder()];
    const anns = { itemId, userId: ann, amountCents: '2500', requestId: 'r-1' };
    const first = await place(env, anns);
    const second = await place(env, { itemId, userId: ben, amountCents: '2600', requestId: 'r-1' });
    // Two bids alone hold with no request-id code at all; the id must still be Ann's: her
    // request sent again after Ben used the id is answered with her bid, and writes nothing.
    expect(await place(env, anns), "Ann's request sent again after Ben used her id").toEqual(first);
    expect(second.userId, "Ben's bid is his").toBe(ben);
    expect(
      (await snapshot(env.db, itemId)).bids.map((b) => b.id),
      'bids on the item',
    ).toEqual([first.id, second.id]);
  });
});

describe('the bids table', () => {
  it('has a UNIQUE constraint on (bidder, request_id)', async () => {
    const bidder = await bidderColumn(env.db);
    const { rows } = await env.db.query<{ name: string }>(
      `SELECT i.relname AS name
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = 'bids'::regclass AND x.indisunique AND x.indisvalid AND x.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY k.ord)
                 FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) = ARRAY[$1::text, 'request_id']`,
      [bidder],
    );
    expect(
      rows.map((r) => r.name),
      `unique constraints of bids on exactly (${bidder}, request_id): without one, two requests with one id that race past the replay check both write a bid`,
    ).toHaveLength(1);
  });
});
