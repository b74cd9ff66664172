// testkit/service-stalls.ts: what bench stampede prints as the service's own stalls. The
// "service" here is this process, serving the workbook's own metrics registry (runtime/metrics.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '#runtime/metrics.ts';
import { describeStalls, watchStalls } from './service-stalls.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve(answer: () => Promise<{ status: number; body: string }>): Promise<string> {
  const server = createServer((_req, res) => {
    void answer().then(({ status, body }) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('watchStalls', () => {
  it("sees a stall of the service's event loop in its stretch, and not in the next one", async () => {
    const { registry } = createMetrics();
    const url = await serve(async () => ({ status: 200, body: await registry.metrics() }));
    const watch = await watchStalls(url);
    expect(watch, 'a service serving Node.js default metrics').toBeDefined();
    await sleep(50);
    const until = performance.now() + 300;
    while (performance.now() < until) Math.sqrt(Math.random());
    await sleep(50);
    const stalled = await watch!.read();
    expect(stalled!.eventLoopDelayMaxMs, describeStalls(stalled)).toBeGreaterThanOrEqual(280);
    // read() scraped, which restarts the sampling: the 300 ms belong to the stretch before.
    const next = await watchStalls(url);
    await sleep(200);
    const quiet = await next!.read();
    expect(quiet!.eventLoopDelayMaxMs, describeStalls(quiet)).toBeLessThan(280);
  });

  it('counts the garbage collections of its stretch and their time', async () => {
    const { registry } = createMetrics();
    const url = await serve(async () => ({ status: 200, body: await registry.metrics() }));
    const watch = await watchStalls(url);
    let kept = 0;
    for (let round = 0; round < 20; round++) {
      const garbage = Array.from({ length: 100_000 }, (_, i) => ({ i, text: `item ${i}` }));
      kept += garbage.length;
    }
    // Node reports a collection to its observers after it ends, on a later turn of the loop.
    await sleep(100);
    const stalls = await watch!.read();
    expect(kept).toBe(2_000_000);
    expect(stalls!.gcs, describeStalls(stalls)).toBeGreaterThan(0);
    expect(stalls!.gcMs, describeStalls(stalls)).toBeGreaterThan(0);
    expect(stalls!.gcsOver10ms).toBeLessThanOrEqual(stalls!.gcs);
  });

  it('says it does not know when the service serves no Node.js default metrics', async () => {
    const notFound = await serve(async () => ({ status: 404, body: 'not found' }));
    expect(await watchStalls(notFound)).toBeUndefined();
    const { registry } = createMetrics({ defaults: false });
    const withoutDefaults = await serve(async () => ({ status: 200, body: await registry.metrics() }));
    expect(await watchStalls(withoutDefaults)).toBeUndefined();
    expect(describeStalls(undefined)).toMatch(/not known/);
  });
});
