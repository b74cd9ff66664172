// Milestone 6 · one closed error model on both transports: the same failure gets the same
// answer over HTTP/1.1 JSON and over Connect, a database outage is "retry later" (503 /
// unavailable) and never "bug" (500 / internal), money never arrives rounded, and every
// answer, errors included, carries the correlation id the log has it under.
import { Code, ConnectError } from '@connectrpc/connect';
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { apiClient, signIn, startService, tomorrow, type AuctionClient, type SignedIn } from './fixtures.ts';

const env = useTestEnv();
let pgProxy: FaultProxy;
let service: ServiceProcess & { apiUrl: string };
// The statement-timeout test's service (lock_timeout outlasts statement_timeout there), started with the other.
let slow: ServiceProcess & { apiUrl: string };
let api: AuctionClient;
let bidder: SignedIn;

beforeAll(async () => {
  pgProxy = await startFaultProxy({ target: env.config.databaseUrl });
  [service, slow, bidder] = await Promise.all([
    // The 2nd item insert fails on a failpoint: the unexpected error whose words must stay in the log.
    startService(env, { databaseUrl: pgProxy.url(env.config.databaseUrl), failpoints: 'items.before-insert=error@2' }),
    startService(env, { bidding: { ...env.config.bidding, lockTimeoutMs: 5_000, statementTimeoutMs: 300 } }),
    signIn(env.config),
  ]);
  api = apiClient(service.apiUrl, 'connect', bidder);
});
afterAll(async () => {
  await Promise.all([service?.stop(), slow?.stop()]);
  await pgProxy?.close();
});

const uuid = () => crypto.randomUUID();
const count = async (table: 'items' | 'bids') => (await env.db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n;
const openItem = async (startPriceCents = 100n) =>
  (
    await env.db.query<{ id: string }>(`INSERT INTO items (title, start_price_cents, end_at) VALUES ('Lot', $1, now() + interval '1 day') RETURNING id`, [
      startPriceCents,
    ])
  ).rows[0]!.id;

async function connectError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error('the call succeeded; an error was expected');
}

/** One Connect call over h2c with a body as written, so JSON numbers reach the server as sent; signed in as `bidder`. */
function post(path: string, body: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const session = connect(service.apiUrl);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': `/api/auction.api.v1.AuctionService/${path}`,
      'content-type': 'application/json',
      'connect-protocol-version': '1',
      ...bidder.headers,
      ...headers,
    });
    let text = '';
    let head: Record<string, unknown> = {};
    req.on('response', (h) => (head = h));
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      session.close();
      resolve({ status: Number(head[':status']), headers: head, body: text });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('one error model on both transports', () => {
  it('refuses money above 2^53 sent as a JSON number, naming the field, and stores it exactly when sent as a string', async () => {
    const before = await count('items');
    const endAt = new Date(Date.now() + 86_400_000).toISOString();
    const rounded = await post('CreateItem', `{"title":"Lamp","startPriceCents":9007199254740993,"endAt":"${endAt}"}`);
    expect({ status: rounded.status, ...JSON.parse(rounded.body) }, rounded.body).toMatchObject({
      status: 400,
      code: 'invalid_argument',
      message: expect.stringMatching(/^start_price_cents /),
    });
    const itemId = await openItem();
    const bid = await post('PlaceBid', `{"itemId":"${itemId}","amountCents":9007199254740995}`);
    expect({ status: bid.status, ...JSON.parse(bid.body) }, bid.body).toMatchObject({
      status: 400,
      code: 'invalid_argument',
      message: expect.stringMatching(/^amount_cents /),
    });
    expect(await count('items'), 'items written by the refused call').toBe(before + 1n);
    expect(await count('bids'), 'bids written by the refused call').toBe(0n);

    const exact = await post('PlaceBid', `{"itemId":"${itemId}","amountCents":"9007199254740995"}`);
    expect(exact.status, exact.body).toBe(200);
    const { rows } = await env.db.query<{ amount_cents: bigint }>('SELECT amount_cents FROM bids WHERE item_id = $1', [itemId]);
    expect(rows.map((r) => r.amount_cents)).toEqual([9007199254740995n]);
  });

  it('puts x-correlation-id on every answer, errors included, even those Connect writes before any of our code runs', async () => {
    let echoed: string | null = null;
    const missing = await connectError(
      api.getItem({ id: uuid() }, { headers: { 'x-correlation-id': 'lost-item-1' }, onHeader: (h) => (echoed = h.get('x-correlation-id')) }),
    );
    expect({ code: missing.code, id: echoed ?? missing.metadata.get('x-correlation-id') }, 'a typed error').toEqual({ code: Code.NotFound, id: 'lost-item-1' });
    const unparsable = await post('CreateItem', '{"title": ', { 'x-correlation-id': 'broken-json-2' });
    expect({ status: unparsable.status, id: unparsable.headers['x-correlation-id'] }, 'a body Connect cannot parse').toEqual({
      status: 400,
      id: 'broken-json-2',
    });
    const generated = await post('CreateItem', '{"title": ');
    expect(generated.headers['x-correlation-id'], 'an id made up when none was sent').toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unexpected error with internal, a generic message and the correlation id; the log keeps the words', async () => {
    // The 1st insert goes through; the 2nd hits the failpoint.
    await api.createItem({ title: 'First', startPriceCents: 100n, endAt: tomorrow() });
    let correlationId: string | null = null;
    const err = await connectError(
      api.createItem({ title: 'Second', startPriceCents: 100n, endAt: tomorrow() }, { onHeader: (h) => (correlationId = h.get('x-correlation-id')) }),
    );
    correlationId ??= err.metadata.get('x-correlation-id');
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage, 'what the caller reads').not.toMatch(/failpoint|injected|items\.before-insert/);
    expect(correlationId, 'x-correlation-id of the error').toMatch(/^[0-9a-f-]{36}$/);
    const logged = await service.waitForEvent('rpc-failed', (e) => e.correlationId === correlationId, 5_000);
    expect(JSON.stringify(logged)).toMatch(/injected error/);
  });

  it('answers a database error nobody expected with internal and a generic message on both transports: no SQL or driver text reaches the caller', async () => {
    // A real driver error (22012 division by zero) from a trigger, for this one title only.
    await env.db.query(`CREATE FUNCTION fail_for_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.title = 'Poison' THEN PERFORM 1 / (length(NEW.title) - 6); END IF; RETURN NEW; END $$`);
    await env.db.query(`CREATE TRIGGER fail_for_poison BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION fail_for_poison()`);
    const leaked = /\b(division|zero|22012|SQL|SELECT|INSERT|PERFORM|trigger|fail_for_poison|items|relation|constraint|pg)\b/i;
    try {
      let correlationId: string | null = null;
      const err = await connectError(
        api.createItem({ title: 'Poison', startPriceCents: 100n, endAt: tomorrow() }, { onHeader: (h) => (correlationId = h.get('x-correlation-id')) }),
      );
      correlationId ??= err.metadata.get('x-correlation-id');
      expect(
        { code: Code[err.code], leaks: leaked.test(err.rawMessage) ? err.rawMessage : 'nothing', correlationId: correlationId ?? 'none' },
        "the Connect answer to an unexpected database error: `internal` with a generic message and the correlation id; the driver's words and the SQL stay in the log (an error toDomainError does not know is a bug, never a message for the caller)",
      ).toEqual({ code: 'Internal', leaks: 'nothing', correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const logged = await service.waitForEvent('rpc-failed', (e) => e.correlationId === correlationId, 5_000);
      expect(JSON.stringify(logged), 'the log line of that call').toMatch(/division by zero/);
      expect({ code: logged.code, stack: logged.err.stack.split('\n')[0] }, 'the SQLSTATE and the stack of the error, in the log').toEqual({
        code: '22012',
        stack: 'error: division by zero',
      });

      const res = await fetch(`${service.url}/items`, {
        method: 'POST',
        body: JSON.stringify({ title: 'Poison', startPriceCents: '100', endAt: new Date(Date.now() + 86_400_000).toISOString() }),
      });
      const body = await res.text();
      expect(
        {
          status: res.status,
          code: JSON.parse(body).error?.code,
          leaks: leaked.test(JSON.parse(body).error?.message ?? '') ? body : 'nothing',
          correlationId: res.headers.get('x-correlation-id') ?? 'none',
        },
        'the HTTP answer to the same error: 500 internal, a generic message, the correlation id, nothing of the driver or the SQL',
      ).toEqual({ status: 500, code: 'internal', leaks: 'nothing', correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    } finally {
      await env.db.query('DROP TRIGGER fail_for_poison ON items; DROP FUNCTION fail_for_poison()');
    }
  });

  it('maps a statement timeout the same way on both transports: 504 / deadline_exceeded, nothing written', async () => {
    // lock_timeout outlasts statement_timeout on `slow`: the held lock below ends the bid by 57014.
    const itemId = await openItem();
    const holder = await env.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [itemId]);
      const res = await fetch(`${slow.url}/items/${itemId}/bids`, { method: 'POST', body: JSON.stringify({ userId: uuid(), amountCents: '100' }) });
      const body = await res.text();
      expect({ status: res.status, code: JSON.parse(body).error?.code }, `HTTP: ${body}`).toEqual({ status: 504, code: 'deadline_exceeded' });
      const err = await connectError(apiClient(slow.apiUrl, 'connect', await signIn(env.config)).placeBid({ itemId, amountCents: 100n }));
      expect(err.code, `Connect: ${err.message}`).toBe(Code.DeadlineExceeded);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(
      (await count('bids')) - (await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM bids WHERE item_id <> $1', [itemId])).rows[0]!.n,
      'bids on the locked item',
    ).toBe(0n);
  });

  it('while PostgreSQL is cut under load, refuses every call with 503 / unavailable and a Retry-After, and loses no acknowledged bid', async () => {
    const items = await Promise.all([0, 1, 2, 3, 4, 5].map(() => openItem()));
    const acknowledged: string[] = [];
    // Acknowledged bids by transport, to see each of them answer before the cut and after it.
    const acks = { http: 0, connect: 0 };
    const refusals: string[] = [];
    const wrong: string[] = [];
    let running = true;
    // Each bidder has an item of its own and raises on every attempt, answered or not: no answer can be "too low".
    const bidder = async (n: number) => {
      const itemId = items[n]!;
      const viaConnect = n % 2 === 0;
      for (let attempt = 1; running; attempt++) {
        const amountCents = BigInt(100 * attempt);
        if (viaConnect) {
          try {
            const { bid } = await api.placeBid({ itemId, amountCents }, { timeoutMs: 10_000 });
            acknowledged.push(bid!.id);
            acks.connect++;
          } catch (err) {
            const e = ConnectError.from(err);
            if (e.code === Code.Unavailable && /^\d+$/.test(e.metadata.get('retry-after') ?? '')) refusals.push('connect');
            else wrong.push(`Connect ${Code[e.code]}: ${e.rawMessage} (retry-after ${e.metadata.get('retry-after')})`);
          }
        } else {
          const res = await fetch(`${service.url}/items/${itemId}/bids`, {
            method: 'POST',
            body: JSON.stringify({ userId: uuid(), amountCents: amountCents.toString() }),
          });
          const body = await res.text();
          if (res.status === 201) {
            acknowledged.push(JSON.parse(body).id);
            acks.http++;
          } else if (res.status === 503 && JSON.parse(body).error?.code === 'unavailable' && /^\d+$/.test(res.headers.get('retry-after') ?? ''))
            refusals.push('http');
          else wrong.push(`HTTP ${res.status} ${body} (retry-after ${res.headers.get('retry-after')})`);
        }
        // Never a tight loop: a refusal comes back in microseconds.
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const bidders = Promise.all([0, 1, 2, 3, 4, 5].map(bidder));
    // Each phase lasts until the bidders saw what it is for (a wrong answer ends it at once: the assertions below say which).
    const until = (what: string, done: () => boolean) =>
      eventually(
        async () => ({ acks: { ...acks }, refusals: [...new Set(refusals)], wrong: wrong.length }),
        () => wrong.length > 0 || done(),
        what,
      );
    await until('bids acknowledged on both transports before the cut', () => acks.http > 0 && acks.connect > 0);
    pgProxy.refuse(true);
    pgProxy.cutAll();
    await until('refusals on both transports while PostgreSQL is cut', () => new Set(refusals).size === 2);
    pgProxy.refuse(false);
    const back = { ...acks };
    await until('bids acknowledged on both transports after PostgreSQL is back', () => acks.http > back.http && acks.connect > back.connect);
    running = false;
    await bidders;

    expect(wrong, 'answers that were neither an acknowledged bid nor 503 / unavailable with Retry-After').toEqual([]);
    expect(new Set(refusals), 'refused on both transports while PostgreSQL was cut').toEqual(new Set(['http', 'connect']));
    const { rows } = await env.db.query<{ id: string }>('SELECT id FROM bids WHERE id = ANY($1::uuid[])', [acknowledged]);
    expect(rows.length, `acknowledged bids in the database (of ${acknowledged.length})`).toBe(acknowledged.length);
  });
});
