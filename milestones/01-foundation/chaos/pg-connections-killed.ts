// Terminates every PostgreSQL connection of a running bid-service while it takes writes,
// and keeps the database refusing new ones for 2 s. Answers the lesson's question: does a
// dead pool connection kill the process, lose an acknowledged write, or need a restart?
import { itemLoad } from '#testkit/http-load.ts';
import { itemsInDatabase } from '#testkit/scenario-data.ts';
import { sampleReadiness, sleep, waitUntilReady } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { databaseUrlFor } from '#runtime/migrate.ts';

export const scenario: ChaosScenario = {
  name: 'pg-connections-killed',
  milestone: 1,
  summary:
    'Kills all PostgreSQL connections under load and refuses new ones for 2 s; /readyz must go red and come back, no acknowledged item lost, no restart.',
  async run(ctx) {
    const env = await ctx.instance();
    const { database } = env;
    const db = `"${database.name}"`;
    const admin = await env.pgClient(databaseUrlFor(ctx.infra.databaseUrl, 'postgres'));
    // Connections allowed again before the database is dropped, whatever failed in between (released before admin).
    env.own(admin, (a) => a.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`).catch(() => undefined), 'connections to the database allowed again');
    const service = await env.service('bid-service.ts');
    ctx.say(`bid-service pid ${service.pid} on ${service.url}, database ${database.name}`);
    const readiness = env.own(sampleReadiness(service.url), (r) => r.stop(), 'readiness sampler');
    const load = env.own(
      itemLoad(service.url, { workers: 4, maxRequests: 20_000, title: 'chaos lamp', startPriceCents: '9007199254740993' }),
      (l) => l.stop(),
      'item load',
    );
    await sleep(1_500);
    const cutAt = Date.now();
    ctx.say('cut: ALLOW_CONNECTIONS false, pg_terminate_backend on every connection of the service');
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]);
    await sleep(2_000);
    await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
    ctx.say('restored: connections allowed again');
    await sleep(2_500);
    const result = await load.stop();
    await waitUntilReady(service.url);
    const ready = await readiness.stop();
    const inDb = await itemsInDatabase(database.url, result.acknowledged, '9007199254740993');
    const lost = result.acknowledged.length - inDb;
    // Nothing was broken yet: a request that failed then is the service's own fault.
    const failedBefore = result.failedAt.filter((at) => at < cutAt).length;
    const alive = service.events('listening').length === 1 && (await Promise.race([service.exited.then(() => false), sleep(50).then(() => true)]));
    const restarts = alive ? 0 : 1;
    const ok = lost === 0 && failedBefore === 0 && ready.wentRed && ready.cameBack && restarts === 0 && result.acknowledged.length > 0;
    return {
      ok,
      line: `requests ${result.sent} · acknowledged ${result.acknowledged.length} · ${failedBefore > 0 ? `failed before the cut ${failedBefore} · ` : ''}failed during the cut ${result.failed - failedBefore} · in db ${inDb} · lost ${lost} · connections killed ${killed.rowCount} · /readyz ${ready.wentRed ? `red ${ready.redSeconds.toFixed(1)} s` : 'never red'} then ${ready.cameBack ? 'green' : 'NOT green'} · restarts ${restarts}`,
      facts: {
        sent: result.sent,
        acknowledged: result.acknowledged.length,
        failed: result.failed,
        failedBefore,
        inDb,
        lost,
        wentRed: ready.wentRed,
        cameBack: ready.cameBack,
        restarts,
      },
    };
  },
};
