// RabbitMQ becomes unreachable for the relay (fault proxy: only bid-worker's connection)
// for 3 s while bids arrive at a steady rate. Bids must keep being accepted; no event lost.
import { deliveryVerdict, openItems, placeBidsOverHttp, scenarioEnvironment, settle, sleep, type ChaosScenario } from '#shared/chaos.ts';
import { startFaultProxy } from '#shared/fault-proxy.ts';
import { collectEvents } from '#shared/test/event-collector.ts';
import { startServiceProcess } from '#shared/test/service-process.ts';

export const scenario: ChaosScenario = {
  name: 'broker-down',
  milestone: 2,
  summary: 'Cuts bid-worker off from RabbitMQ for 3 s while 500 bids arrive at 100/s; every bid must be accepted and every event delivered once the broker is back.',
  async run(ctx) {
    const { database, exchange, config, cleanup } = await scenarioEnvironment(ctx);
    const proxy = await startFaultProxy({ target: ctx.infra.amqpUrl });
    const collector = await collectEvents({ amqpUrl: ctx.infra.amqpUrl, exchange });
    const worker = await startServiceProcess({ tree: ctx.tree, entry: 'bid-worker.ts', config: { ...config, amqpUrl: proxy.url(ctx.infra.amqpUrl), outbox: { ...config.outbox, pollMs: 100, backoffMaxMs: 1_000 } } });
    const service = await startServiceProcess({ tree: ctx.tree, entry: 'bid-service.ts', config });
    try {
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
    } finally {
      await service.stop('SIGTERM');
      await worker.stop('SIGTERM');
      await collector.close();
      await proxy.close();
      await cleanup();
    }
  },
};
