// Milestone 6 · WatchItem's first state comes from PostgreSQL, the source of truth: the Redis
// read model lags behind the commits (by a consumer's backlog), and a stream that started from
// it would show a bidder a price already beaten.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { apiClient, signIn, startService, startWorker, tomorrow, type AuctionClient } from './fixtures.ts';

const env = useTestEnv();
let service: ServiceProcess & { apiUrl: string };
let worker: ServiceProcess;
let api: AuctionClient;
// The read-model consumer applies the first event, then holds the second (for longer than the test: the worker is killed after it).
const HELD_MS = 60_000;
beforeAll(async () => {
  [service, worker] = await Promise.all([startService(env), startWorker(env, { failpoints: `read-model.before-apply=delay(${HELD_MS})@2` })]);
  api = apiClient(service.apiUrl, 'connect', await signIn(env.config));
});
afterAll(async () => {
  await Promise.all([service?.stop(), worker?.stop('SIGKILL')]);
});

const readModel = async (itemId: string) =>
  (await (await fetch(`${service.url}/items/${itemId}/live`)).json()) as { version: string; source: string; priceCents: string | null };

describe('WatchItem while the read model lags behind the database', () => {
  it('sends the committed state first (PostgreSQL), not the read model’s older one', async () => {
    const { item } = await api.createItem({ title: 'Clock', startPriceCents: 100n, endAt: tomorrow() });
    const itemId = item!.id;
    await api.placeBid({ itemId, amountCents: 100n });
    await vi.waitFor(async () => expect(await readModel(itemId), 'the read model after the first bid').toMatchObject({ version: '1', source: 'redis' }), {
      timeout: 10_000,
      interval: 50,
    });
    await api.placeBid({ itemId, amountCents: 200n });
    await worker.waitForEvent('failpoint-fired', (e) => e.failpoint === 'read-model.before-apply', 10_000);
    expect(await readModel(itemId), 'the read model while its consumer holds the second bid').toMatchObject({ version: '1', source: 'redis' });

    const done = new AbortController();
    try {
      for await (const { live } of api.watchItem({ itemId }, { signal: done.signal })) {
        expect({ version: live!.version, priceCents: live!.priceCents }, 'the first message of the stream: the state committed before it opened').toEqual({
          version: 2n,
          priceCents: 200n,
        });
        break;
      }
    } finally {
      done.abort();
    }
  });
});
