// Milestone 1 · connectivity: each service's state and latency, measured by a real round trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppDeps, type AppDeps } from '#app/app-deps.ts';
import { checkDependencies, type DependencyReport } from '#app/health/check-dependencies.ts';
import { startFaultProxy, type FaultProxy } from '#testkit/fault-proxy.ts';
import { useTestEnv } from '#testkit/harness.ts';
import { eventually } from '#testkit/eventually.ts';

const env = useTestEnv();
let deps: AppDeps;
const proxies: Record<'postgres' | 'rabbitmq' | 'redis', FaultProxy> = {} as never;

beforeAll(async () => {
  // Every connection goes through its own fault proxy, so this file can break them
  // without touching what other test files use.
  proxies.postgres = await startFaultProxy({ target: env.config.databaseUrl });
  proxies.rabbitmq = await startFaultProxy({ target: env.config.amqpUrl });
  proxies.redis = await startFaultProxy({ target: env.config.redisUrl });
  deps = await createAppDeps(
    {
      ...env.config,
      databaseUrl: proxies.postgres.url(env.config.databaseUrl),
      amqpUrl: proxies.rabbitmq.url(env.config.amqpUrl),
      redisUrl: proxies.redis.url(env.config.redisUrl),
      healthTimeoutMs: 500,
    },
    env.log,
  );
});

afterAll(async () => {
  await Promise.allSettled([deps?.db.end(), deps?.probeDb.end(), deps?.redis.isOpen ? deps.redis.quit() : undefined, deps?.amqp.close()]);
  await Promise.all(Object.values(proxies).map((p) => p.close()));
});

const allUp = (r: DependencyReport) => r.postgres.status === 'up' && r.rabbitmq.status === 'up' && r.redis.status === 'up';

describe('checkDependencies', () => {
  it('reports PostgreSQL, RabbitMQ and Redis up, each with its latency in ms', async () => {
    const report = await eventually(() => checkDependencies(deps), allUp, 'all three services up');
    for (const name of ['postgres', 'rabbitmq', 'redis'] as const) {
      expect(report[name], name).toEqual({ status: 'up', latencyMs: expect.any(Number) });
      expect(report[name].latencyMs, `${name} latency`).toBeGreaterThanOrEqual(0);
    }
    expect(proxies.postgres.connections + proxies.rabbitmq.connections + proxies.redis.connections, 'connections through the proxies').toBeGreaterThanOrEqual(
      3,
    );
  });

  it('reports the one service that refuses connections as down, with the reason, and the others up', async () => {
    await eventually(() => checkDependencies(deps), allUp, 'all three services up');
    proxies.redis.refuse(true);
    proxies.redis.cutAll();
    try {
      // Redis down and the other two up in one report: on a loaded machine a single probe of a
      // healthy service can miss its 500 ms, which says nothing about Redis being cut.
      const report = await eventually(
        () => checkDependencies(deps),
        (r) => r.redis.status === 'down' && r.postgres.status === 'up' && r.rabbitmq.status === 'up',
        'redis down and postgres and rabbitmq up',
      );
      expect(report.redis).toEqual({ status: 'down', latencyMs: expect.any(Number), error: expect.stringMatching(/\S/) });
      expect(report.postgres.status, 'postgres').toBe('up');
      expect(report.rabbitmq.status, 'rabbitmq').toBe('up');
    } finally {
      proxies.redis.refuse(false);
    }
    await eventually(() => checkDependencies(deps), allUp, 'redis up again with the same client');
  });

  it('calls a service that stops answering down after the timeout instead of waiting for it', async () => {
    await eventually(() => checkDependencies(deps), allUp, 'all three services up');
    proxies.postgres.blackhole(true);
    try {
      const report = await checkDependencies(deps);
      expect(report.postgres).toEqual({ status: 'down', latencyMs: expect.any(Number), error: expect.stringMatching(/within 500 ms/) });
      expect(report.redis.status, 'redis').toBe('up');
    } finally {
      proxies.postgres.blackhole(false);
      proxies.postgres.cutAll();
    }
    await eventually(() => checkDependencies(deps), allUp, 'postgres up again');
  });
});
