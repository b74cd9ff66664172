// Milestone 1 · readiness that tells the truth: ready while the service can serve (PostgreSQL
// answers), degraded, not unready, when RabbitMQ or Redis is down, and never called down just
// because every connection of the pool is busy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import { eventually } from '#testkit/eventually.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';

const env = useTestEnv();
const proxies: Record<'postgres' | 'rabbitmq', FaultProxy> = {} as never;
let service: ServiceProcess;

beforeAll(async () => {
  proxies.postgres = await startFaultProxy({ target: env.config.databaseUrl });
  proxies.rabbitmq = await startFaultProxy({ target: env.config.amqpUrl });
  service = await startServiceProcess({
    tree: env.tree,
    entry: 'bid-service.ts',
    config: {
      ...env.config,
      databaseUrl: proxies.postgres.url(env.config.databaseUrl),
      amqpUrl: proxies.rabbitmq.url(env.config.amqpUrl),
      // No case here waits for a probe's timeout (a cut dependency refuses at once), and under
      // npm test's parallel load a probe of a dependency that is up took over a second.
      healthTimeoutMs: 3_000,
    },
  });
});

afterAll(async () => {
  await service?.stop('SIGKILL');
  await Promise.all(Object.values(proxies).map((p) => p?.close()));
});

interface Readyz {
  status: number;
  ms: number;
  body: { status?: string; degraded?: string[]; dependencies?: Record<string, { status: string; latencyMs: number; error?: string }> };
}

const readyz = async (): Promise<Readyz> => {
  const started = performance.now();
  const res = await fetch(`${service.url}/readyz`);
  return { status: res.status, ms: performance.now() - started, body: JSON.parse(await res.text()) as Readyz['body'] };
};

const dependencyUp = async (name: string) => {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return new RegExp(`^auction_dependency_up\\{dependency="${name}"\\} (\\d)`, 'm').exec(text)?.[1];
};

const endAt = () => new Date(Date.now() + 86_400_000).toISOString();

describe('/readyz', () => {
  it('stays 200, and answers quickly, while every connection of the pool is busy and more requests queue for one', async () => {
    await eventually(readyz, (r) => r.status === 200, '/readyz 200');
    // A SHARE lock on items makes every INSERT wait: each POST /items holds a pool connection
    // (10) while it waits, and the rest queue for one, as bids do on a hot item.
    const holder = await env.db.connect();
    let posts: Array<Promise<number>> = [];
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE items IN SHARE MODE');
      posts = Array.from({ length: 16 }, (_, i) =>
        fetch(`${service.url}/items`, { method: 'POST', body: JSON.stringify({ title: `queued ${i}`, startPriceCents: '100', endAt: endAt() }) }).then(
          (r) => r.status,
        ),
      );
      await eventually(
        async () =>
          (
            await env.db.query<{ n: bigint }>(
              `SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'items' AND NOT l.granted`,
            )
          ).rows[0]!.n,
        (n) => n >= 10n,
        'ten inserts waiting for the lock (the whole pool)',
      );
      const busy = await readyz();
      expect(busy.status, `/readyz with the pool full: ${JSON.stringify(busy.body)}`).toBe(200);
      expect(busy.body.dependencies?.postgres?.latencyMs, 'the postgres probe’s latency (ms) while the pool is full').toBeLessThan(500);
    } finally {
      await holder.query('COMMIT').catch(() => undefined);
      holder.release();
    }
    expect(await Promise.all(posts), 'the queued POST /items once the lock is gone').toEqual(posts.map(() => 201));
  });

  it('stays 200 while RabbitMQ is down, saying so in the body and in auction_dependency_up', async () => {
    await eventually(readyz, (r) => r.status === 200 && r.body.status === 'ready', '/readyz 200 ready');
    expect(await dependencyUp('rabbitmq'), 'auction_dependency_up{dependency="rabbitmq"} with the broker up').toBe('1');
    proxies.rabbitmq.refuse(true);
    proxies.rabbitmq.cutAll();
    try {
      const down = await eventually(readyz, (r) => r.body.dependencies?.rabbitmq?.status === 'down', 'rabbitmq reported down');
      expect(down.status, `/readyz with RabbitMQ down: ${JSON.stringify(down.body)}`).toBe(200);
      expect(down.body).toMatchObject({ status: 'degraded', degraded: ['rabbitmq'], dependencies: { postgres: { status: 'up' }, redis: { status: 'up' } } });
      expect(await dependencyUp('rabbitmq'), 'auction_dependency_up{dependency="rabbitmq"} with the broker down').toBe('0');
      const created = await fetch(`${service.url}/items`, {
        method: 'POST',
        body: JSON.stringify({ title: 'while the broker is down', startPriceCents: '100', endAt: endAt() }),
      });
      expect(created.status, 'POST /items while RabbitMQ is down').toBe(201);
    } finally {
      proxies.rabbitmq.refuse(false);
    }
    await eventually(readyz, (r) => r.status === 200 && r.body.status === 'ready', '/readyz ready again');
  });

  it('answers 503 naming postgres when PostgreSQL is down, and 200 again without a restart', async () => {
    await eventually(readyz, (r) => r.status === 200, '/readyz 200');
    proxies.postgres.refuse(true);
    proxies.postgres.cutAll();
    try {
      const down = await eventually(readyz, (r) => r.status === 503, '/readyz 503 while PostgreSQL is cut');
      expect(down.body).toMatchObject({
        status: 'not ready',
        dependencies: { postgres: { status: 'down' }, rabbitmq: { status: 'up' }, redis: { status: 'up' } },
      });
    } finally {
      proxies.postgres.refuse(false);
    }
    await eventually(readyz, (r) => r.status === 200, '/readyz 200 again');
    expect(service.events('listening'), 'times the service started').toHaveLength(1);
  });
});
