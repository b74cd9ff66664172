// Cuts bid-service's connection to Redis (through the fault proxy, so nothing else is
// touched) for 2 s while it takes writes. Redis is not on the write path in milestone 1, so
// writes must keep succeeding, and /readyz must stay 200 while its body reports Redis down
// (degraded): a shared Redis blip must not take every pod out of rotation.
import { itemLoad } from '#testkit/http-load.ts';
import { itemsInDatabase } from '#testkit/scenario-data.ts';
import { sampleReadiness, sleep, waitUntilReady } from '#testkit/scenario-observers.ts';
import type { ChaosScenario, Verdict } from '#testkit/scenario.ts';

/** How long the one /readyz call in the middle of the cut may take before it counts as no answer. */
const DURING_TIMEOUT_MS = 3_000;

/** What the scenario saw; redisCutVerdict turns it into the verdict. */
export interface RedisCutObserved {
  sent: number;
  acknowledged: number;
  failed: number;
  /** Acknowledged items found in the database with their price. */
  inDb: number;
  /** The /readyz call in the middle of the cut: its HTTP status (0: no answer), body status and the state it gave each dependency. */
  during: { code: number; status?: string; redis?: string; postgres?: string };
  /** The readiness sampler (every 100 ms, the whole run): whether /readyz ever answered other than 200, and for how long. */
  wentRed: boolean;
  redSeconds: number;
  /** "bid-service listening" lines after the first. */
  restarts: number;
}

const ROUTES = 'exercises/src/http/routes.ts';
const CHECKS = 'exercises/src/health/check-dependencies.ts';

/**
 * The verdict of redis-cut from what it observed: one line of facts, each stated once in the
 * words of what happened (no "never red … NOT green": a learner reads the line to find what
 * failed), and for each failure what was seen and the next step for that failure alone.
 */
export function redisCutVerdict(o: RedisCutObserved): Omit<Verdict, 'facts'> {
  const lost = o.acknowledged - o.inDb;
  const { during } = o;
  const reported = during.code === 0 ? undefined : `redis ${during.redis ?? 'not reported'}, postgres ${during.postgres ?? 'not reported'}`;
  const duringText = during.code === 0 ? `no answer within ${DURING_TIMEOUT_MS / 1000} s` : `${during.code} "${during.status ?? 'no status'}" (${reported})`;
  const readiness = o.wentRed ? `/readyz not 200 for ${o.redSeconds.toFixed(1)} s of the run` : '/readyz 200 throughout the run';
  const line = `requests ${o.sent} · acknowledged ${o.acknowledged} · failed ${o.failed} · in db ${o.inDb} · lost ${lost} · /readyz during the cut: ${duringText} · ${readiness} · restarts ${o.restarts}`;

  const problems: string[] = [];
  if (lost > 0) {
    problems.push(
      `${lost} of the ${o.acknowledged} items answered 201 are not in the database. Next: answer 201 only after the INSERT in exercises/src/items/create-item.ts has returned (await it; no fire-and-forget).`,
    );
  }
  if (o.failed > 0 && o.acknowledged === 0) {
    // The load starts a second before the cut: nothing acknowledged means it never worked.
    problems.push(
      `All ${o.failed} item creations failed, those sent before Redis was cut too: creating an item does not work yet, with or without Redis. Next: make items.test.ts pass (\`npm run milestone:1\` shows the first failure), then run this again.`,
    );
  } else if (o.failed > 0) {
    problems.push(
      `${o.failed} of ${o.sent} item creations failed while Redis was cut, and milestone 1 never needs Redis to write. Next: find what on the create-item path waits for Redis (the service's log lines of those requests) and take it off that path.`,
    );
  }
  if (during.code === 0) {
    problems.push(
      `/readyz gave no answer within ${DURING_TIMEOUT_MS / 1000} s while Redis was cut. Next: bound each probe with measure(timeoutMs, …) in ${CHECKS}, so a dead Redis is reported down after healthTimeoutMs instead of holding the answer.`,
    );
  } else if (during.code !== 200) {
    problems.push(
      `/readyz answered ${during.code} "${during.status ?? 'no status'}" while only Redis was cut (PostgreSQL was up): readiness followed Redis, so one Redis blip would take every pod out of rotation. Next: in ${ROUTES}, answer 503 only when postgres is down; Redis or RabbitMQ down is 200 "degraded".`,
    );
  } else {
    if (during.redis !== 'down') {
      problems.push(
        `/readyz answered 200 while Redis was cut, but its body said redis ${during.redis ?? 'nothing'} instead of "down": the answer did not come from a fresh check of Redis. Next: call checkDependencies(deps) on every /readyz (${ROUTES}), with a real PING each call in ${CHECKS}.`,
      );
    }
    if (during.postgres !== 'up') {
      problems.push(
        `/readyz answered 200 while Redis was cut, but its body said postgres ${during.postgres ?? 'nothing'} although PostgreSQL was up. Next: report each dependency by its own probe (dependencies.postgres from SELECT 1 on deps.probeDb in ${CHECKS}).`,
      );
    }
    if (during.redis === 'down' && during.status !== 'degraded') {
      problems.push(
        `/readyz answered 200 "${during.status ?? 'no status'}" while its own body said redis down: serving without a dependency is "degraded", so that a dashboard tells it from healthy. Next: in ${ROUTES}, status "degraded" and degraded: ["redis"] when Redis (or RabbitMQ) is down, "ready" only when all three are up.`,
      );
    }
  }
  if (o.wentRed && during.code === 200) {
    problems.push(
      `/readyz answered other than 200 for ${o.redSeconds.toFixed(1)} s of the run (sampled every 100 ms), though not at the moment checked mid-cut. Next: it must stay 200 while PostgreSQL is up; if it timed out, run \`npm run milestone:1\` (readiness.test.ts shows whether the probe waits in the app pool).`,
    );
  }
  if (o.restarts > 0) {
    problems.push(
      `bid-service started ${o.restarts} more time(s) during the run: it went down while Redis was cut. Next: a lost Redis connection must not end the process; look for the error it exited with in the service's log.`,
    );
  }
  return { ok: problems.length === 0, line, problems };
}

export const scenario: ChaosScenario = {
  name: 'redis-cut',
  milestone: 1,
  summary: 'Cuts the service off from Redis for 2 s under load; /readyz stays 200 and reports Redis down (degraded), writes keep working, no restart.',
  async run(ctx) {
    const env = await ctx.instance();
    const proxy = await env.faultProxy(ctx.infra.redisUrl);
    const { database } = env;
    const service = await env.service('bid-service.ts', { config: { ...env.config, redisUrl: proxy.url(ctx.infra.redisUrl) } });
    ctx.say(`bid-service pid ${service.pid}; Redis through the fault proxy on port ${proxy.port}`);
    const readiness = env.own(sampleReadiness(service.url), (r) => r.stop(), 'readiness sampler');
    const load = env.own(itemLoad(service.url, { workers: 2, maxRequests: 10_000, title: 'chaos chair', startPriceCents: 100 }), (l) => l.stop(), 'item load');
    await sleep(1_000);
    ctx.say('cut: Redis connections reset, new ones refused');
    proxy.refuse(true);
    proxy.cutAll();
    await sleep(1_000);
    // Bounded, so a /readyz that hangs on the dead connection is observed as no answer.
    const during: RedisCutObserved['during'] = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(DURING_TIMEOUT_MS) }).then(
      async (r) => {
        const body = (await r.json().catch(() => ({}))) as { status?: string; dependencies?: Record<string, { status?: string }> };
        return { code: r.status, status: body.status, redis: body.dependencies?.redis?.status, postgres: body.dependencies?.postgres?.status };
      },
      () => ({ code: 0 }),
    );
    await sleep(1_000);
    proxy.refuse(false);
    ctx.say('restored');
    await waitUntilReady(service.url);
    const result = await load.stop();
    const ready = await readiness.stop();
    const inDb = await itemsInDatabase(database.url, result.acknowledged, '100');
    const restarts = service.events('listening').length - 1;
    const verdict = redisCutVerdict({
      sent: result.sent,
      acknowledged: result.acknowledged.length,
      failed: result.failed,
      inDb,
      during,
      wentRed: ready.wentRed,
      redSeconds: ready.redSeconds,
      restarts,
    });
    return {
      ...verdict,
      facts: {
        sent: result.sent,
        acknowledged: result.acknowledged.length,
        failed: result.failed,
        inDb,
        lost: result.acknowledged.length - inDb,
        duringCode: during.code,
        duringStatus: during.status ?? 'no answer',
        duringRedis: during.redis ?? 'not reported',
        duringPostgres: during.postgres ?? 'not reported',
        wentRed: ready.wentRed,
        redSeconds: ready.redSeconds,
        restarts,
      },
    };
  },
};
