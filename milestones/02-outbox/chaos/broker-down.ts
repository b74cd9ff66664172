// RabbitMQ becomes unreachable for the relay (fault proxy: only bid-worker's connection)
// for 3 s while bids arrive at a steady rate. Bids must keep being accepted; no event lost.
import { placeBidsOverHttp } from '#testkit/http-load.ts';
import { deliveryVerdict, openItems } from '#testkit/scenario-data.ts';
import { settle, sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';

export const scenario: ChaosScenario = {
  name: 'broker-down',
  milestone: 2,
  summary:
    'Cuts bid-worker off from RabbitMQ for 3 s while 500 bids arrive at 100/s; every bid must be accepted and every event delivered once the broker is back.',
  async run(ctx) {
    // All released when the scenario ends, however it ends (a bid-service that does not start included).
    const env = await ctx.instance();
    const { database, config } = env;
    const proxy = await env.faultProxy(ctx.infra.amqpUrl);
    const collector = await env.collectEvents();
    const worker = await env.service('bid-worker.ts', {
      config: { ...config, amqpUrl: proxy.url(ctx.infra.amqpUrl), outbox: { ...config.outbox, pollMs: 100, backoffMaxMs: 1_000 } },
    });
    const service = await env.service('bid-service.ts');
    const items = await openItems(database.url, 5);
    const load = placeBidsOverHttp({ serviceUrl: () => service.url, items, count: 500, perSecond: 100, concurrency: 4 });
    await sleep(1_500);
    ctx.say('cut: the relay’s RabbitMQ connection reset, new ones refused');
    proxy.refuse(true);
    proxy.cutAll();
    await sleep(3_000);
    const deliveredWhileDown = collector.messages.length;
    proxy.refuse(false);
    ctx.say(`restored after 3 s (${deliveredWhileDown} events had arrived before the cut)`);
    const placed = await load;
    await settle(() => collector.messages.length, { atLeast: placed.acknowledged.length });
    const v = await deliveryVerdict(database.url, collector.messages);
    const retries = worker.events('relay-batch-failed').length;
    return {
      ok: placed.failed === 0 && v.lost === 0 && v.inDb === placed.acknowledged.length && v.inDb === 500 && retries > 0,
      line: `placed ${placed.acknowledged.length} · refused ${placed.failed} · in db ${v.inDb} · published ${v.published} · lost ${v.lost} · duplicates delivered ${v.duplicates} · relay retries ${retries}`,
      facts: { ...v, placed: placed.acknowledged.length, refused: placed.failed, retries },
    };
  },
};
