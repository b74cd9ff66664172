// Cuts bid-service's connection to Redis (through the fault proxy, so nothing else is
// touched) for 2 s while it takes writes. Redis is not on the write path in milestone 1, so
// writes must keep succeeding, and /readyz must stay 200 while its body reports Redis down
// (degraded): a shared Redis blip must not take every pod out of rotation.
import { itemLoad, itemsInDatabase, sampleReadiness, scenarioEnvironment, sleep, waitUntilReady, type ChaosScenario } from '#shared/chaos.ts';
import { startFaultProxy } from '#shared/fault-proxy.ts';
import { startServiceProcess } from '#shared/test/service-process.ts';

export const scenario: ChaosScenario = {
  name: 'redis-cut',
  milestone: 1,
  summary: 'Cuts the service off from Redis for 2 s under load; /readyz stays 200 and reports Redis down (degraded), writes keep working, no restart.',
  async run(ctx) {
    const proxy = await startFaultProxy({ target: ctx.infra.redisUrl });
    const { database, config, cleanup } = await scenarioEnvironment(ctx, { redisUrl: proxy.url(ctx.infra.redisUrl) });
    const service = await startServiceProcess({ tree: ctx.tree, entry: 'bid-service.ts', config });
    try {
      ctx.say(`bid-service pid ${service.pid}; Redis through the fault proxy on port ${proxy.port}`);
      const readiness = sampleReadiness(service.url);
      const load = itemLoad(service.url, { workers: 2, maxRequests: 10_000, title: 'chaos chair', startPriceCents: 100 });
      await sleep(1_000);
      ctx.say('cut: Redis connections reset, new ones refused');
      proxy.refuse(true);
      proxy.cutAll();
      await sleep(1_000);
      const during = await fetch(`${service.url}/readyz`).then(
        async (r) => ({ code: r.status, ...((await r.json()) as { status?: string; dependencies?: Record<string, { status: string }> }) }),
        () => ({ code: 0, status: undefined, dependencies: undefined }),
      );
      await sleep(1_000);
      proxy.refuse(false);
      ctx.say('restored');
      await waitUntilReady(service.url);
      const result = await load.stop();
      const ready = await readiness.stop();
      const inDb = await itemsInDatabase(database.url, result.acknowledged, '100');
      const lost = result.acknowledged.length - inDb;
      const named = during.dependencies?.redis?.status === 'down' && during.dependencies?.postgres?.status === 'up';
      const restarts = service.logs.filter((l) => l.msg === 'bid-service listening').length - 1;
      const ok = lost === 0 && result.failed === 0 && !ready.wentRed && during.code === 200 && during.status === 'degraded' && named && restarts === 0;
      const duringCut = `${during.code} ${during.status ?? 'no answer'}${named ? ', redis down, postgres up' : ', did not name redis down'}`;
      return {
        ok,
        line: `requests ${result.sent} · acknowledged ${result.acknowledged.length} · failed ${result.failed} · in db ${inDb} · lost ${lost} · /readyz during the cut ${duringCut} · ${ready.wentRed ? `red ${ready.redSeconds.toFixed(1)} s` : 'never red'} · restarts ${restarts}`,
        facts: { sent: result.sent, acknowledged: result.acknowledged.length, failed: result.failed, inDb, lost, duringCode: during.code, duringStatus: during.status ?? 'no answer', wentRed: ready.wentRed, redSeconds: ready.redSeconds, named, restarts },
      };
    } finally {
      await service.stop('SIGTERM');
      await proxy.close();
      await cleanup();
    }
  },
};
