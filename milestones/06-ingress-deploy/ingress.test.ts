// Milestone 6 · through the real ingress (the Caddyfile docker-compose mounts): TLS to the
// client, h2c to bid-service; the stream arrives change by change; HTTP/1.1 clients still get
// unary calls. (That it answers 404 itself outside /api is deploy/tests/ingress.test.ts.)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuctionService } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { startIngress, type Ingress } from '#testkit/ingress.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { withBearer } from '#testkit/sign-in.ts';
import { repoRoot } from '#workbook/trees.ts';
import { signIn, startService, startWorker, tomorrow, type SignedIn } from './fixtures.ts';

const env = useTestEnv();
let service: ServiceProcess & { apiUrl: string };
let worker: ServiceProcess;
let ingress: Ingress;
let ca: Buffer;
let seller: SignedIn;
beforeAll(async () => {
  seller = await signIn(env.config, 'ingress-seller');
  [service, worker] = await Promise.all([startService(env), startWorker(env)]);
  ingress = await startIngress({ upstreams: [new URL(service.apiUrl).host] });
  ca = readFileSync(ingress.caCertPath);
});
afterAll(async () => {
  // Our clients' connections end first: the ingress's graceful stop waits (up to its 5 s grace
  // period) for every client connection to close, and an HTTP/2 client keeps an idle one open.
  for (const session of sessions) session.abort();
  await ingress?.stop();
  await Promise.all([service?.stop(), worker?.stop()]);
});

/** The HTTP/2 connections of the clients below, closed before the ingress stops. */
const sessions: Http2SessionManager[] = [];
/** A client through the ingress, signed in as the seller unless `anonymous`. */
const client = (httpVersion: '2' | '1.1', anonymous = false) => {
  const common = { baseUrl: `${ingress.url}/api`, interceptors: anonymous ? [] : [withBearer(seller.token)] };
  // HTTP/1.1: a connection of its own for each call (no keep-alive agent), closed once answered.
  if (httpVersion === '1.1') return createClient(AuctionService, createConnectTransport({ ...common, httpVersion, nodeOptions: { ca, agent: false } }));
  const sessionManager = new Http2SessionManager(common.baseUrl, undefined, { ca });
  sessions.push(sessionManager);
  return createClient(AuctionService, createConnectTransport({ ...common, httpVersion, useBinaryFormat: true, sessionManager }));
};

/** `buf curl` (node_modules/.bin/buf), the tool a person tries the API with, through the ingress with its CA; what it printed. */
async function bufCurl(method: string, body: object, headers: string[] = []): Promise<string> {
  const args = [
    'curl',
    '--schema',
    join(repoRoot, 'proto'),
    '--cacert',
    ingress.caCertPath,
    '--data',
    JSON.stringify(body),
    ...headers.flatMap((h) => ['--header', h]),
    `${ingress.url}/api/auction.api.v1.AuctionService/${method}`,
  ];
  // buf curl exits non-zero for an error answer: its output is what the test reads either way.
  const run = await promisify(execFile)(join(repoRoot, 'node_modules/.bin/buf'), args, { encoding: 'utf8', timeout: 60_000 }).catch(
    (err: { stdout?: string; stderr?: string; message: string }) => ({ stdout: err.stdout ?? err.message, stderr: err.stderr ?? '' }),
  );
  return `${run.stdout}${run.stderr}`;
}

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

  it('refuses PlaceBid and CreateItem without a token with unauthenticated (a Connect client, and buf curl)', async () => {
    const { item } = await client('2').createItem({ title: 'Astrolabe', startPriceCents: 100n, endAt: tomorrow() });
    for (const httpVersion of ['2', '1.1'] as const) {
      const anonymous = client(httpVersion, true);
      const refused = await Promise.all(
        [anonymous.placeBid({ itemId: item!.id, amountCents: 100n }), anonymous.createItem({ title: 'Free', startPriceCents: 100n, endAt: tomorrow() })].map(
          (call) =>
            call.then(
              () => 'ok',
              (err: unknown) => Code[ConnectError.from(err).code],
            ),
        ),
      );
      expect(refused, `PlaceBid and CreateItem over HTTP/${httpVersion} without a token`).toEqual(['Unauthenticated', 'Unauthenticated']);
    }
    // Three runs of buf curl at once: each is a process that compiles proto/ before its call.
    const [bid, created, signedIn] = await Promise.all([
      bufCurl('PlaceBid', { itemId: item!.id, amountCents: '100' }),
      bufCurl('CreateItem', { title: 'Free', startPriceCents: '100', endAt: new Date(Date.now() + 86_400_000).toISOString() }),
      bufCurl('PlaceBid', { itemId: item!.id, amountCents: '100' }, [`Authorization: Bearer ${seller.token}`]),
    ]);
    expect(bid, 'buf curl PlaceBid without a token').toMatch(/"code": "unauthenticated"/);
    expect(created, 'buf curl CreateItem without a token').toMatch(/"code": "unauthenticated"/);
    expect(signedIn, 'buf curl PlaceBid with the seller’s token').toMatch(new RegExp(`"userId": "${seller.bidderId}"`));
  });
});
