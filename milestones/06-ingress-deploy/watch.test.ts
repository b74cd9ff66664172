// Milestone 6 · WatchItem: the item's state first, then every change in order, fed by the
// milestone-4 events; it ends when the client goes, and never holds more than its buffer.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WatchFeed } from '#app/api/watch-feed.ts';
import type { ItemLive } from '#app/read-model/item-live.ts';
import { collectEvents } from '#testkit/event-collector.ts';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { apiClient, signIn, startService, startWorker, tomorrow, type AuctionClient } from './fixtures.ts';

const env = useTestEnv();
let service: ServiceProcess & { apiUrl: string };
let worker: ServiceProcess;
let api: AuctionClient;
// A second bid-service whose RabbitMQ connection goes through a fault proxy (the outage test).
let proxy: FaultProxy;
let cut: ServiceProcess & { apiUrl: string };
beforeAll(async () => {
  proxy = await startFaultProxy({ target: env.config.amqpUrl });
  // Every process the file needs, started at once. The worker's closer looks for ended auctions every 100 ms (1 s by default).
  [service, worker, cut] = await Promise.all([
    startService(env),
    startWorker(env, { closer: { ...env.config.closer, pollMs: 100 } }),
    startService(env, { amqpUrl: proxy.url(env.config.amqpUrl) }),
  ]);
  api = apiClient(service.apiUrl, 'connect', await signIn(env.config));
});
afterAll(async () => {
  await Promise.all([service?.stop(), worker?.stop(), cut?.stop()]);
  await proxy?.close();
});

const openStreams = async () => {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^api_watch_streams (\d+)/m.exec(text)?.[1]);
};

describe('WatchItem', () => {
  it('sends the current state, then every bid in order, then the close; and lets go when the client leaves', async () => {
    const { item } = await api.createItem({ title: 'Globe', startPriceCents: 100n, endAt: tomorrow() });
    await api.placeBid({ itemId: item!.id, amountCents: 100n });
    const leaving = new AbortController();
    const seen: Array<[bigint, bigint | undefined, number]> = [];
    const watching = (async () => {
      for await (const { live } of api.watchItem({ itemId: item!.id }, { signal: leaving.signal })) {
        seen.push([live!.version, live!.priceCents, live!.status]);
        if (live!.status === 2) return;
      }
    })();
    await vi.waitFor(() => expect(seen.length, 'the first message: the state now').toBeGreaterThan(0), { timeout: 5_000, interval: 50 });
    for (const amount of [200n, 300n, 400n, 500n]) await api.placeBid({ itemId: item!.id, amountCents: amount });
    // The auction ends now: its end is moved to now rather than waited for, and the worker's closer closes it.
    await env.db.query('UPDATE items SET end_at = now() WHERE id = $1', [item!.id]);
    await watching;
    // The first state may already include the first bid (version 1) or not yet (version 0): what follows is every change once, in order.
    const first = Number(seen[0]![0]);
    const expected: Array<[bigint, bigint | undefined, number]> = [];
    const prices = [undefined, 100n, 200n, 300n, 400n, 500n];
    for (let v = first; v <= 5; v++) expected.push([BigInt(v), prices[v], 1]);
    expected.push([6n, 500n, 2]);
    expect(seen).toEqual(expected);

    const { item: other } = await api.createItem({ title: 'Atlas', startPriceCents: 100n, endAt: tomorrow() });
    const reading = (async () => {
      for await (const _ of api.watchItem({ itemId: other!.id }, { signal: leaving.signal }));
    })().catch(() => undefined);
    await vi.waitFor(async () => expect(await openStreams(), 'open streams while one watches').toBe(1), { timeout: 5_000, interval: 50 });
    leaving.abort();
    await reading;
    await vi.waitFor(async () => expect(await openStreams(), 'open streams after the client left').toBe(0), { timeout: 5_000, interval: 50 });
  });

  it('an unknown item ends the stream with not_found; a malformed id with invalid_argument', async () => {
    const codes: number[] = [];
    for (const itemId of [crypto.randomUUID(), 'not-an-id']) {
      try {
        for await (const _ of api.watchItem({ itemId }));
      } catch (err) {
        codes.push((err as { code: number }).code);
      }
    }
    expect(codes).toEqual([5, 3]);
  });
});

describe('WatchItem while the service’s RabbitMQ connection is down', () => {
  it('misses the events published meanwhile, and catches up by reading the state again once it reconnects', async () => {
    const client = apiClient(cut.apiUrl, 'connect', await signIn(env.config));
    const { item } = await client.createItem({ title: 'Loom', startPriceCents: 100n, endAt: tomorrow() });
    const versions: bigint[] = [];
    const done = new AbortController();
    const collector = await collectEvents({ amqpUrl: env.config.amqpUrl, exchange: env.config.amqp.exchange });
    try {
      const watching = (async () => {
        for await (const { live } of client.watchItem({ itemId: item!.id }, { signal: done.signal })) {
          versions.push(live!.version);
          if (live!.version === 3n) return;
        }
      })();
      await vi.waitFor(() => expect(versions, 'the first state').toEqual([0n]), { timeout: 5_000, interval: 50 });
      proxy.refuse(true);
      proxy.cutAll();
      // Placed while the hub hears nothing: their events reach the worker (and this test's
      // collector), not this service. Published, all three, before the hub may reconnect.
      for (const amount of [100n, 200n, 300n]) await client.placeBid({ itemId: item!.id, amountCents: amount });
      await collector.waitFor(3);
      proxy.refuse(false);
      await Promise.race([
        watching,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`the stream did not reach version 3 within 15 s after the reconnect; it saw ${versions.join(', ')}`)), 15_000),
        ),
      ]);
      expect(versions.at(-1), 'the last state the stream sent').toBe(3n);
      expect(versions, 'versions, in order, each once').toEqual([...new Set(versions)].sort((a, b) => (a < b ? -1 : 1)));
    } finally {
      done.abort();
      await collector.close();
    }
  });
});

describe('WatchFeed, the buffer between the events and one slow client', () => {
  const live = (version: number): ItemLive => ({
    itemId: 'i',
    status: 'open',
    priceCents: BigInt(version * 100),
    leaderId: 'u',
    bidCount: BigInt(version),
    version: BigInt(version),
    source: 'event',
  });

  it('holds at most its limit: the oldest updates give way, the newest stay, in order', async () => {
    const feed = new WatchFeed(8);
    for (let v = 1; v <= 100; v++) feed.offer({ kind: 'state', live: live(v) });
    feed.end(new Error('done'));
    const versions: bigint[] = [];
    await expect(
      (async () => {
        for await (const update of feed.updates(new AbortController().signal)) if (update.kind === 'state') versions.push(update.live.version);
      })(),
    ).rejects.toThrow('done');
    expect({ versions, dropped: feed.dropped }).toEqual({ versions: [93n, 94n, 95n, 96n, 97n, 98n, 99n, 100n], dropped: 92 });
  });
});
