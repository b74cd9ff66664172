// RabbitMQ unreachable for 20 s (fault proxy: the connections of bid-service and bid-worker,
// not the real broker) while bids arrive at 200/s. Taking bids while the broker is down is
// what the outbox is for, so the API must stay in rotation the whole time: /readyz 200
// (degraded), every bid accepted, every event delivered once the broker is back. The load
// runs for a fixed time; a busy machine may place fewer than 200/s (the verdict counts them).
import { placeBidsOverHttp } from '#testkit/http-load.ts';
import { deliveryVerdict, openItems } from '#testkit/scenario-data.ts';
import { sampleReadiness, settle, sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';

const PER_SECOND = 200;
const BEFORE_MS = 3_000;
const OUTAGE_MS = 20_000;
const AFTER_MS = 2_000;

export const scenario: ChaosScenario = {
  name: 'broker-outage-ready',
  milestone: 2,
  summary:
    'Cuts bid-service and bid-worker off from RabbitMQ for 20 s under 200 bids/s; the API must stay ready (degraded) and accept every bid, and every event must arrive once the broker is back.',
  async run(ctx) {
    const env = await ctx.instance();
    const { database, config } = env;
    const proxy = await env.faultProxy(ctx.infra.amqpUrl);
    const amqpUrl = proxy.url(ctx.infra.amqpUrl);
    const collector = await env.collectEvents();
    await env.service('bid-worker.ts', { config: { ...config, amqpUrl, outbox: { ...config.outbox, pollMs: 100, backoffMaxMs: 1_000 } } });
    const service = await env.service('bid-service.ts', { config: { ...config, amqpUrl } });
    const counter = await env.pgClient();
    const items = await openItems(database.url, 16);
    const readiness = env.own(sampleReadiness(service.url, 250), (r) => r.stop(), 'readiness sampler');
    const count = (PER_SECOND * (BEFORE_MS + OUTAGE_MS + AFTER_MS)) / 1000;
    let acknowledged: string[] = [];
    const stopLoad = env.own(new AbortController(), (c) => c.abort(), 'bid load');
    const load = placeBidsOverHttp({ serviceUrl: () => service.url, items, count, perSecond: PER_SECOND, concurrency: 16, signal: stopLoad.signal }).then(
      (r) => {
        acknowledged = r.acknowledged;
        return r;
      },
    );
    // placeBidsOverHttp returns its list at the end; bids accepted while it runs are counted in the database.
    const bidsInDb = async () => Number((await counter.query<{ n: string }>('SELECT count(*) AS n FROM bids')).rows[0]!.n);
    await sleep(BEFORE_MS);
    ctx.say(`cut: RabbitMQ connections of bid-service and bid-worker reset, new ones refused, for ${OUTAGE_MS / 1000} s`);
    proxy.refuse(true);
    proxy.cutAll();
    const atCut = await bidsInDb();
    const deliveredAtCut = collector.messages.length;
    await sleep(OUTAGE_MS);
    const atRestore = await bidsInDb();
    const deliveredDuring = collector.messages.length - deliveredAtCut;
    proxy.refuse(false);
    ctx.say(`restored (events delivered during the outage: ${deliveredDuring})`);
    await sleep(AFTER_MS);
    stopLoad.abort();
    const placed = await load;
    const ready = await readiness.stop();
    await settle(() => collector.messages.length, { atLeast: acknowledged.length, timeoutMs: 20_000 });
    const v = await deliveryVerdict(database.url, collector.messages);
    const acceptedDuring = atRestore - atCut;
    const unreadySeconds = ready.wentRed ? ready.redSeconds : 0;
    // A request the client saw fail (a timeout on a busy machine) may still have committed: that
    // bid is unanswered, not lost, and must not cancel out a lost one in the count.
    const lost = v.lost + Math.max(0, acknowledged.length - v.inDb);
    const unansweredButCommitted = Math.max(0, v.inDb - acknowledged.length);
    return {
      ok: placed.failed === 0 && acceptedDuring > 0 && !ready.wentRed && lost === 0 && v.inDb === acknowledged.length,
      line: `bids accepted during the outage ${acceptedDuring} · API unready ${unreadySeconds.toFixed(1)} s · lost ${lost} · placed ${acknowledged.length} · refused ${placed.failed}${unansweredButCommitted > 0 ? ` (${unansweredButCommitted} of them committed: unanswered, not lost)` : ''} · in db ${v.inDb} · published ${v.published} · duplicates delivered ${v.duplicates}`,
      facts: { ...v, acceptedDuring, unreadySeconds, lost, placed: acknowledged.length, refused: placed.failed, deliveredDuring },
    };
  },
};
