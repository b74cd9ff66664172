// Milestone 6 · SIGTERM during open WatchItem streams and bids in flight: readiness turns red
// first, the bids complete, the stream ends with a status the client acts on (unavailable:
// reconnect), and the process exits 0. Nothing acknowledged is lost.
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { encodeEnvelope } from '@connectrpc/connect/protocol';
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { CreateItemRequestSchema } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { lockWaiters } from '#testkit/lock-waiters.ts';
import { apiClient, rawConnectCall, signIn, startService, startWorker, tomorrow } from './fixtures.ts';

const env = useTestEnv();
let worker: ServiceProcess;
let service: ServiceProcess & { apiUrl: string };
beforeAll(async () => {
  [worker, service] = await Promise.all([startWorker(env), startService(env, { bidding: { ...env.config.bidding, lockTimeoutMs: 10_000 } })]);
});
// The test ends the service itself (SIGTERM); stop() is for a test that failed before that.
afterAll(() => Promise.all([worker?.stop(), service?.stop()]));

describe('SIGTERM', () => {
  it('finishes the bids in flight, ends the stream with unavailable, turns readiness red first, and exits 0', async () => {
    const seller = await signIn(env.config);
    const api = apiClient(service.apiUrl, 'connect', seller);
    const { item } = await api.createItem({ title: 'Harp', startPriceCents: 100n, endAt: tomorrow() });
    const streamEnd = (async () => {
      try {
        for await (const _ of api.watchItem({ itemId: item!.id }));
        return 'ended without a status';
      } catch (err) {
        return ConnectError.from(err);
      }
    })();
    await vi.waitFor(async () => expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(/^api_watch_streams 1/m), {
      timeout: 5_000,
      interval: 50,
    });

    // Five bids held in flight behind a row lock the test holds.
    const holder = await env.db.connect();
    // Let go of the lock however the test ends: a failure while it is held would leave the pool
    // unable to close, and the file would end in a hook timeout instead of the failure's message.
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    };
    onTestFinished(release);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [item!.id]);
    const bids = [100n, 200n, 300n, 400n, 500n].map((amount) =>
      api.placeBid({ itemId: item!.id, amountCents: amount }).then(
        (r) => r.bid!.id,
        (err: unknown) => ConnectError.from(err),
      ),
    );
    await vi.waitFor(
      async () => {
        expect((await lockWaiters(env.db)).length, 'bids waiting for the item lock').toBeGreaterThanOrEqual(1);
      },
      { timeout: 5_000, interval: 50 },
    );

    // A request refused before its body was read (100 kB, over API_READ_MAX_BYTES): answered, and
    // nothing of it may hold the shutdown up.
    const huge = toBinary(CreateItemRequestSchema, create(CreateItemRequestSchema, { title: 'x'.repeat(100_000), startPriceCents: 100n, endAt: tomorrow() }));
    const refused = await rawConnectCall(service.apiUrl, 'CreateItem', huge, seller.headers, 'application/proto');
    expect(JSON.parse(refused.body).code, 'a 100 kB request').toBe('resource_exhausted');

    process.kill(service.pid, 'SIGTERM');
    const readyz = () =>
      fetch(`${service.url}/readyz`).then(
        (r) => r.status,
        (err: Error) => {
          throw new Error(
            `/readyz could not be reached after SIGTERM (${err.message}): the process stopped answering before the bids and the stream in flight were done. SIGTERM must drain first: readiness 503, streams ended with unavailable, bids finished, then exit 0`,
          );
        },
      );
    await vi.waitFor(async () => expect(await readyz(), '/readyz while draining').toBe(503), { timeout: 5_000, interval: 50 });
    const ended = await streamEnd;
    await holder.query('COMMIT');
    released = true;
    holder.release();

    const answers = await Promise.all(bids);
    const exit = await service.exited;
    expect(ended instanceof ConnectError ? ended.code : ended, 'how the stream ended').toBe(Code.Unavailable);
    // Each answer is a bid, or a typed refusal (outbid: failed_precondition) if a higher one got the lock first.
    const failed = answers.filter((a): a is ConnectError => a instanceof ConnectError);
    expect(failed.filter((e) => e.code !== Code.FailedPrecondition).map(String), 'bids that failed for another reason').toEqual([]);
    const accepted = answers.filter((a): a is string => typeof a === 'string');
    expect(accepted.length, 'bids accepted').toBeGreaterThan(0);
    const { rows } = await env.db.query<{ id: string }>('SELECT id FROM bids WHERE item_id = $1', [item!.id]);
    expect(new Set(rows.map((r) => r.id)), 'bids in the table: exactly the accepted ones').toEqual(new Set(accepted));
    expect(exit, 'the process exit (1: its shutdown did not finish within the grace period)').toEqual({ code: 0, signal: null });
  });

  it('is not held by a client that stops reading its stream and keeps its connection open: the process still exits 0', async () => {
    // A Connect client that leaves its for-await loop at the auction's last message does this:
    // the stream's end stays unread, so its connection does not close after the server's
    // GOAWAY, and the server's graceful close (a FIN, then waiting for the peer's) waited for it
    // until the grace period ended, then exited 1.
    const own = await startService(env);
    const seller = await signIn(env.config);
    const { item } = await apiClient(own.apiUrl, 'connect', seller).createItem({ title: 'Lute', startPriceCents: 100n, endAt: tomorrow() });
    const session = connect(own.apiUrl);
    session.on('error', () => undefined);
    onTestFinished(() => void session.destroy());
    const stream = session.request({
      ':method': 'POST',
      ':path': '/api/auction.api.v1.AuctionService/WatchItem',
      'content-type': 'application/connect+json',
      'connect-protocol-version': '1',
      ...seller.headers,
    });
    stream.on('error', () => undefined);
    stream.end(encodeEnvelope(0, new TextEncoder().encode(JSON.stringify({ itemId: item!.id }))));
    stream.pause(); // never read: what the server sends stays in this client's buffer
    await vi.waitFor(async () => expect(await (await fetch(`${own.url}/metrics`)).text()).toMatch(/^api_watch_streams 1/m), { timeout: 5_000, interval: 50 });

    process.kill(own.pid, 'SIGTERM');
    expect(
      await own.exited,
      `the process exit (1: its shutdown waited the whole grace period, ${env.config.http.shutdownGraceMs} ms, for the client to hang up)`,
    ).toEqual({
      code: 0,
      signal: null,
    });
  });
});
