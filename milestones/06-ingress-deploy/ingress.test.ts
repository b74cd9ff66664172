// Milestone 6 · through the real ingress (the Caddyfile docker-compose mounts): TLS to the
// client, h2c to bid-service; the stream arrives change by change; HTTP/1.1 clients still get
// unary calls. (That it answers 404 itself outside /api is shared/tests/ingress.test.ts.)
import { readFileSync } from 'node:fs';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuctionService } from '#shared/api/gen/auction/api/v1/auction_pb.ts';
import { startIngress, type Ingress } from '#shared/test/ingress.ts';
import type { ServiceProcess } from '#shared/test/service-process.ts';
import { useTestEnv } from '#shared/test/harness.ts';
import { startService, startWorker, tomorrow } from './fixtures.ts';

const env = useTestEnv();
let service: ServiceProcess & { apiUrl: string };
let worker: ServiceProcess;
let ingress: Ingress;
let ca: Buffer;
beforeAll(async () => {
  [service, worker] = await Promise.all([startService(env), startWorker(env)]);
  ingress = await startIngress({ upstreams: [new URL(service.apiUrl).host] });
  ca = readFileSync(ingress.caCertPath);
});
afterAll(async () => {
  await ingress?.stop();
  await Promise.all([service?.stop(), worker?.stop()]);
});

const client = (httpVersion: '2' | '1.1') =>
  createClient(AuctionService, createConnectTransport({ baseUrl: `${ingress.url}/api`, httpVersion, useBinaryFormat: httpVersion === '2', nodeOptions: { ca } }));

describe('through the ingress (TLS, then h2c)', () => {
  it('creates an item, places bids, and WatchItem receives every change in order', async () => {
    const api = client('2');
    const { item } = await api.createItem({ title: 'Telescope', startPriceCents: 100n, endAt: tomorrow() });
    const versions: bigint[] = [];
    const done = new AbortController();
    const watching = (async () => {
      for await (const { live } of api.watchItem({ itemId: item!.id }, { signal: done.signal })) {
        versions.push(live!.version);
        if (live!.version === 5n) return;
      }
    })();
    while (versions.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const amount of [100n, 200n, 300n, 400n, 500n]) await api.placeBid({ itemId: item!.id, amountCents: amount });
    await watching;
    expect(versions).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  });

  it('answers an HTTP/1.1 client’s unary call (Connect’s JSON over HTTP/1.1)', async () => {
    const { item } = await client('1.1').createItem({ title: 'Sextant', startPriceCents: 250n, endAt: tomorrow() });
    expect(item?.startPriceCents).toBe(250n);
  });

});
