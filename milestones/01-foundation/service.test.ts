// Milestone 1 · bid-service as a real process: probes, metrics, correlation ids, clean exit.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';

const env = useTestEnv();
let redisProxy: FaultProxy;
let service: ServiceProcess;

beforeAll(async () => {
  redisProxy = await startFaultProxy({ target: env.config.redisUrl });
  service = await startServiceProcess({
    tree: env.tree,
    entry: 'bid-service.ts',
    config: { ...env.config, redisUrl: redisProxy.url(env.config.redisUrl), failpoints: 'items.before-insert=delay(1500)@1', healthTimeoutMs: 500 },
  });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await redisProxy?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const readyz = async () => {
  const res = await get('/readyz');
  return { status: res.status, body: JSON.parse(res.text) as { status?: string; degraded?: string[]; dependencies?: Record<string, { status: string }> } };
};

describe('bid-service', () => {
  it('answers /healthz with 200 whatever its dependencies do', async () => {
    const res = await get('/healthz');
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 when every dependency is up, still 200 but degraded naming Redis while Redis is cut, and ready again without a restart', async () => {
    const up = await eventually(readyz, (r) => r.status === 200 && r.body.status === 'ready', '/readyz 200 ready');
    expect(Object.keys(up.body.dependencies ?? {}).sort()).toEqual(['postgres', 'rabbitmq', 'redis']);

    redisProxy.refuse(true);
    redisProxy.cutAll();
    try {
      // Reads fall back to PostgreSQL and writes never needed Redis: the pod stays in rotation.
      // Redis down and the other two up, in one answer: on a loaded machine a probe of PostgreSQL
      // or RabbitMQ can miss its half-second deadline once (healthTimeoutMs), and that answer,
      // naming two dependencies, is about the machine, not about what this test asks.
      const down = await eventually(
        readyz,
        (r) =>
          r.body.dependencies?.redis?.status === 'down' && r.body.dependencies?.postgres?.status === 'up' && r.body.dependencies?.rabbitmq?.status === 'up',
        '/readyz reporting Redis down, PostgreSQL and RabbitMQ up',
      );
      expect(down.status, `/readyz while Redis is cut: ${JSON.stringify(down.body)}`).toBe(200);
      expect(down.body).toMatchObject({
        status: 'degraded',
        degraded: ['redis'],
        dependencies: { redis: { status: 'down' }, postgres: { status: 'up' }, rabbitmq: { status: 'up' } },
      });
      expect((await get('/healthz')).status, '/healthz while Redis is down').toBe(200);
    } finally {
      redisProxy.refuse(false);
    }
    await eventually(readyz, (r) => r.status === 200 && r.body.status === 'ready', '/readyz ready again');
    expect(service.events('listening'), 'times the service started').toHaveLength(1);
  });

  it('serves Prometheus metrics counting requests by route and status', async () => {
    await get('/healthz');
    await get('/items/not-a-uuid');
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^auction_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/m);
    expect(res.text).toMatch(/^auction_http_requests_total\{method="GET",route="\/items\/:id",status="400"\} [1-9]/m);
    expect(res.text).toContain('auction_http_request_duration_seconds_bucket');
  });

  it('counts a request the client abandoned before the answer as aborted, not as 200', async () => {
    // Headers and half a body, then the client goes: the handler never gets to answer.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${service.url}/items`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.on('response', () => reject(new Error('POST /items answered a request whose body never arrived')));
      req.write('{"title": "ab', () => setTimeout(() => req.destroy(), 200));
    });
    const postItems = async () =>
      (await get('/metrics')).text.split('\n').filter((l) => l.startsWith('auction_http_requests_total{method="POST",route="/items"'));
    const counted = await eventually(postItems, (lines) => lines.length > 0, 'POST /items counted in auction_http_requests_total');
    expect(counted, 'how the abandoned POST /items was counted').toEqual(['auction_http_requests_total{method="POST",route="/items",status="aborted"} 1']);
  });

  it('echoes the caller’s x-correlation-id and logs one line per request carrying it', async () => {
    const res = await get('/healthz', { 'x-correlation-id': 'checkout-7f3a' });
    expect(res.headers.get('x-correlation-id')).toBe('checkout-7f3a');
    const line = await service.waitForLog((l) => l.msg === 'request' && l.correlationId === 'checkout-7f3a', 5_000);
    expect(line).toMatchObject({ method: 'GET', path: '/healthz', status: 200, correlationId: 'checkout-7f3a' });
    expect(service.logs.filter((l) => l.correlationId === 'checkout-7f3a' && l.msg === 'request')).toHaveLength(1);
  });

  it('generates a correlation id when there is none, or when the one sent is unsafe', async () => {
    for (const headers of [{}, { 'x-correlation-id': 'x'.repeat(300) }, { 'x-correlation-id': 'a b"c' }] as Array<Record<string, string>>) {
      const res = await get('/healthz', headers);
      const id = res.headers.get('x-correlation-id') ?? '';
      expect(id, `generated for ${JSON.stringify(headers).slice(0, 40)}`).toMatch(/^[0-9a-f-]{36}$/);
      await service.waitForLog((l) => l.msg === 'request' && l.correlationId === id, 5_000);
    }
  });

  it('creates an item over HTTP, money as a string of cents, and refuses bad input by field with nothing written', async () => {
    const endAt = new Date(Date.now() + 86_400_000).toISOString();
    // The first insert waits 1.5 s on a failpoint; that is the SIGTERM test's in-flight request, not this one.
    const bad = await fetch(`${service.url}/items`, { method: 'POST', body: JSON.stringify({ title: 'Lamp', startPriceCents: 10.5, endAt }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'startPriceCents' } });
    const { rows } = await env.db.query<{ n: bigint }>('SELECT count(*) AS n FROM items');
    expect(rows[0]!.n, 'rows in items').toBe(0n);
    const notJson = await fetch(`${service.url}/items`, { method: 'POST', body: '{"title": ' });
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'body' } });
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const endAt = new Date(Date.now() + 86_400_000).toISOString();
    const inFlight = fetch(`${service.url}/items`, { method: 'POST', body: JSON.stringify({ title: 'Lamp', startPriceCents: '9007199254740993', endAt }) });
    await Promise.race([
      service.waitForEvent('failpoint-fired', (e) => e.failpoint === 'items.before-insert', 10_000),
      inFlight.then(async (r) => {
        throw new Error(`POST /items answered ${r.status} before it reached the insert: ${await r.clone().text()}`);
      }),
    ]);
    const exit = service.stop('SIGTERM');
    const res = await inFlight.catch(async (err: Error) => {
      const ended = await exit;
      throw new Error(
        `the process exited (code ${ended.code}, signal ${ended.signal}) before answering the request in flight (${err.message}): SIGTERM must drain first, stop taking new requests and finish the ones in flight, then exit 0 (onShutdown in bid-service.ts, not process.exit)`,
      );
    });
    expect(res.status, 'the in-flight POST /items').toBe(201);
    const created = (await res.json()) as { id: string; startPriceCents: string };
    expect(created.startPriceCents).toBe('9007199254740993');
    expect(await exit, 'how the process ended').toEqual({ code: 0, signal: null });
    expect(service.events('shut-down-cleanly')).toHaveLength(1);
    const { rows } = await env.db.query<{ start_price_cents: bigint }>('SELECT start_price_cents FROM items WHERE id = $1', [created.id]);
    expect(rows[0]?.start_price_cents, 'the item in the database').toBe(9007199254740993n);
  });
});
