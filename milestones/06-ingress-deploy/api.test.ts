// Milestone 6 · the API over h2c: every RPC under /api, typed errors as Connect codes with
// their facts as details, bad requests refused with nothing written, deadlines honored.
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BidTooLowDetailSchema, BusyDetailSchema, CreateItemRequestSchema, FieldViolationSchema } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { bidPlacedFromProto } from '#runtime/events/bid-placed.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { apiClient, rawConnectCall, signIn, startService, tomorrow, type AuctionClient, type SignedIn } from './fixtures.ts';

const env = useTestEnv();
let service: ServiceProcess & { apiUrl: string };
let api: AuctionClient;
let bidder: SignedIn;
// The deadline tests' service. Its lock and statement timeouts (60 s) outlast every wait of these
// tests, so only the caller's deadline can end a bid early; and it stalls every bid 1 s between its
// last statement and COMMIT (a bid stuck behind a lock never gets that far). Started with the other.
let late: ServiceProcess & { apiUrl: string };
let lateApi: AuctionClient;
beforeAll(async () => {
  [service, late, bidder] = await Promise.all([
    // A short lock timeout, so that Busy comes quickly.
    startService(env, { bidding: { ...env.config.bidding, lockTimeoutMs: 300 } }),
    startService(env, { bidding: { ...env.config.bidding, lockTimeoutMs: 60_000, statementTimeoutMs: 60_000 }, failpoints: 'bid.before-commit=delay(1000)' }),
    signIn(env.config),
  ]);
  api = apiClient(service.apiUrl, 'connect', bidder);
  lateApi = apiClient(late.apiUrl, 'connect', bidder);
});
afterAll(() => Promise.all([service?.stop(), late?.stop()]));

const uuid = () => crypto.randomUUID();
const count = async (table: 'items' | 'bids') => (await env.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n;

async function connectError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error('the call succeeded; an error was expected');
}

/** The bid counters of a bid-service, from its /metrics. */
async function bidMetrics(serviceUrl: string) {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const value = (line: RegExp) =>
    Number(
      text
        .split('\n')
        .find((l) => line.test(l))
        ?.split(' ')
        .at(-1) ?? 0,
    );
  return {
    accepted: value(/^auction_bids_accepted_total /),
    tooLow: value(/^auction_bids_rejected_total\{reason="too_low"\} /),
    lockWaits: value(/^auction_bid_lock_wait_seconds_count /),
  };
}

describe('the API over h2c', () => {
  it('creates, gets and lists items, and places bids; money stays exact above 2^53', async () => {
    const { item } = await api.createItem({ title: 'Lamp', description: 'brass', startPriceCents: 9007199254740993n, endAt: tomorrow() });
    expect(item?.startPriceCents).toBe(9007199254740993n);
    const got = await api.getItem({ id: item!.id });
    expect({ title: got.item?.title, status: got.live?.status, bidCount: got.live?.bidCount }).toEqual({ title: 'Lamp', status: 1, bidCount: 0n });
    const { bid } = await api.placeBid({ itemId: item!.id, amountCents: 9007199254740995n, requestId: 'r-1' });
    expect({ amount: bid?.amountCents, sequence: bid?.sequence, bidder: bid?.userId }).toEqual({
      amount: 9007199254740995n,
      sequence: 1n,
      bidder: bidder.bidderId,
    });
    const again = await api.placeBid({ itemId: item!.id, amountCents: 9007199254740995n, requestId: 'r-1' });
    expect(again.bid?.id, 'the same request again: the original bid').toBe(bid?.id);
    const page = await api.listItems({ limit: 100 });
    expect(page.items.map((i) => i.id)).toContain(item!.id);
  });

  it('answers with the correlation id it was given, and puts it on the bid’s event', async () => {
    const { item } = await api.createItem({ title: 'Clock', startPriceCents: 100n, endAt: tomorrow() });
    let echoed: string | null = null;
    const { bid } = await api.placeBid(
      { itemId: item!.id, amountCents: 100n },
      { headers: { 'x-correlation-id': 'rpc-test-7' }, onHeader: (h) => (echoed = h.get('x-correlation-id')) },
    );
    expect(echoed, 'x-correlation-id of the answer').toBe('rpc-test-7');
    const { rows } = await env.db.query<{ payload: Buffer }>('SELECT payload FROM outbox WHERE aggregate_id = $1', [item!.id]);
    expect(rows.map((r) => bidPlacedFromProto(r.payload)).map((e) => [e.bidId, e.correlationId])).toEqual([[bid!.id, 'rpc-test-7']]);
  });

  it('maps every typed error to its code, with the facts as details', async () => {
    const { item } = await api.createItem({ title: 'Vase', startPriceCents: 1_000n, endAt: tomorrow() });
    await api.placeBid({ itemId: item!.id, amountCents: 1_000n });

    const low = await connectError(api.placeBid({ itemId: item!.id, amountCents: 1_050n }));
    expect(low.code, 'a bid below the minimum').toBe(Code.FailedPrecondition);
    expect(low.findDetails(BidTooLowDetailSchema).map((d) => [d.currentPriceCents, d.minimumNextBidCents])).toEqual([[1_000n, 1_100n]]);

    const invalid = await connectError(api.createItem({ title: 'Free', startPriceCents: 0n, endAt: tomorrow() }));
    expect(invalid.code, 'a zero price').toBe(Code.InvalidArgument);
    expect(invalid.findDetails(FieldViolationSchema).map((d) => d.field)).toEqual(['start_price_cents']);

    const missing = await connectError(api.getItem({ id: uuid() }));
    expect(missing.code, 'an item that does not exist').toBe(Code.NotFound);

    const { rows } = await env.db.query<{ id: string }>(
      `INSERT INTO items (title, start_price_cents, start_at, end_at) VALUES ('Gone', 100, now() - interval '2 days', now() - interval '1 day') RETURNING id`,
    );
    const ended = await connectError(api.placeBid({ itemId: rows[0]!.id, amountCents: 500n }));
    expect(ended.code, 'a bid on an ended auction').toBe(Code.FailedPrecondition);
    expect(ended.findDetails(BidTooLowDetailSchema), 'no price detail for an ended auction').toEqual([]);

    const holder = await env.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [item!.id]);
      const busy = await connectError(api.placeBid({ itemId: item!.id, amountCents: 5_000n }));
      expect(busy.code, 'a bid on an item locked longer than lock_timeout').toBe(Code.Unavailable);
      expect(busy.findDetails(BusyDetailSchema).map((d) => d.retryAfterMs)).toEqual([300]);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  it('honors the caller’s deadline: a bid stuck behind a lock ends with deadline_exceeded and is never written', async () => {
    const { item } = await lateApi.createItem({ title: 'Desk', startPriceCents: 100n, endAt: tomorrow() });
    const correlationId = `deadline-lock-${uuid()}`;
    const holder = await env.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [item!.id]);
      const expired = await connectError(
        lateApi.placeBid({ itemId: item!.id, amountCents: 100n }, { timeoutMs: 200, headers: { 'x-correlation-id': correlationId } }),
      );
      expect(expired.code).toBe(Code.DeadlineExceeded);
      // The server's own end of the call (its rpc event), while the lock is still held: a server
      // that ignored the deadline is still waiting for the lock (for 60 s), and writes once it ends.
      const ended = await late
        .waitForEvent('rpc', (e) => e.correlationId === correlationId, 5_000)
        .catch((err: Error) => {
          throw new Error(
            `the server did not end the call while the lock was held, long after its 200 ms deadline: the bid ignores the caller's deadline and waits for the lock (${err.message.split('\n')[0]})`,
          );
        });
      expect(ended.code, 'how the server ended the call, while the lock was still held').toBe('deadline_exceeded');
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const { rows } = await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM bids WHERE item_id = $1', [item!.id]);
    expect(rows[0]!.n, 'bids written by the call that ran out of time').toBe(0n);
  });

  it('a bid whose deadline passes inside its transaction is rolled back: deadline_exceeded, and no bid row', async () => {
    // Every statement of the bid is quick; it stalls between its last statement and COMMIT.
    const { item } = await lateApi.createItem({ title: 'Chair', startPriceCents: 100n, endAt: tomorrow() });
    const correlationId = `deadline-commit-${uuid()}`;
    const expired = await connectError(
      lateApi.placeBid({ itemId: item!.id, amountCents: 100n }, { timeoutMs: 300, headers: { 'x-correlation-id': correlationId } }),
    );
    expect(expired.code).toBe(Code.DeadlineExceeded);
    // The server ends the call (its rpc event) only past the stall: committed by then, or rolled back.
    const ended = await late.waitForEvent('rpc', (e) => e.correlationId === correlationId);
    const { rows } = await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM bids WHERE item_id = $1', [item!.id]);
    expect({ code: ended.code, bids: rows[0]!.n }, 'how the server ended the call, and the bids it wrote').toEqual({ code: 'deadline_exceeded', bids: 0n });
  });

  it('counts each PlaceBid in the bid metrics: accepted, refused by reason, and the lock wait', async () => {
    const before = await bidMetrics(service.url);
    const { item } = await api.createItem({ title: 'Bell', startPriceCents: 100n, endAt: tomorrow() });
    await api.placeBid({ itemId: item!.id, amountCents: 100n });
    await connectError(api.placeBid({ itemId: item!.id, amountCents: 100n }));
    const after = await bidMetrics(service.url);
    expect(
      { accepted: after.accepted - before.accepted, tooLow: after.tooLow - before.tooLow, lockWaits: after.lockWaits - before.lockWaits },
      'auction_bids_accepted_total, auction_bids_rejected_total{reason="too_low"}, auction_bid_lock_wait_seconds_count',
      // One lock wait: the accepted bid's. The second is refused from the committed highest bid
      // without asking for the lock (milestone 3, step 8), so it has no lock wait to count.
    ).toEqual({ accepted: 1, tooLow: 1, lockWaits: 1 });
  });

  it.each([
    ['a missing title', { startPriceCents: 100n, endAt: tomorrow() }, 'title'],
    ['a missing end', { title: 'Rug', startPriceCents: 100n }, 'end_at'],
    ['a negative price', { title: 'Rug', startPriceCents: -5n, endAt: tomorrow() }, 'start_price_cents'],
  ])('refuses an item with %s: invalid_argument naming the field, nothing written', async (_case, request, field) => {
    const before = await count('items');
    const err = await connectError(api.createItem(request));
    expect({ code: err.code, fields: err.findDetails(FieldViolationSchema).map((d) => d.field) }).toEqual({ code: Code.InvalidArgument, fields: [field] });
    expect(await count('items')).toBe(before);
  });

  it('refuses a body it cannot parse, and one larger than API_READ_MAX_BYTES, with nothing written', async () => {
    const before = await count('items');
    const post = (body: Uint8Array, contentType = 'application/proto') => rawConnectCall(service.apiUrl, 'CreateItem', body, bidder.headers, contentType);
    // Connect follows gRPC's status codes here: a request it cannot deserialize is `internal` ("parse binary: …").
    const garbage = await post(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(
      { status: garbage.status, code: JSON.parse(garbage.body).code, parse: /parse binary/.test(garbage.body) },
      'bytes that are not a CreateItemRequest',
    ).toEqual({ status: 500, code: 'internal', parse: true });
    const badJson = await post(new TextEncoder().encode('{"title": '), 'application/json');
    expect({ status: badJson.status, code: JSON.parse(badJson.body).code }, 'JSON that does not parse').toEqual({ status: 400, code: 'invalid_argument' });
    const wrongType = await post(new TextEncoder().encode('{"startPriceCents": "a lot"}'), 'application/json');
    expect(JSON.parse(wrongType.body).code, 'a price that is not an int64').toBe('invalid_argument');
    const noTitle = await post(new TextEncoder().encode('{"startPriceCents": "100"}'), 'application/json');
    expect({ status: noTitle.status, code: JSON.parse(noTitle.body).code }, 'well-formed JSON without a title').toEqual({
      status: 400,
      code: 'invalid_argument',
    });
    const huge = toBinary(CreateItemRequestSchema, create(CreateItemRequestSchema, { title: 'x'.repeat(100_000), startPriceCents: 100n, endAt: tomorrow() }));
    const oversize = await post(huge);
    expect(JSON.parse(oversize.body).code, 'a 100 kB request').toBe('resource_exhausted');
    expect(await count('items')).toBe(before);
  });

  it('serves the RPCs under /api, and nothing outside it', async () => {
    const call = (path: string) => rawConnectCall(service.apiUrl, path, '{"id": ""}');
    const inside = await call('/api/auction.api.v1.AuctionService/GetItem');
    expect({ status: inside.status, code: JSON.parse(inside.body).code }, 'GetItem under /api, with an empty id').toEqual({
      status: 400,
      code: 'invalid_argument',
    });
    expect((await call('/auction.api.v1.AuctionService/GetItem')).status, 'the same RPC outside /api').toBe(404);
  });
});
