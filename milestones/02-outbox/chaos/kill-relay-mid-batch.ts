// Two bid-workers; the one relaying is killed (SIGKILL) after publishing a batch and before
// marking it. The other must take over: nothing lost, the unmarked batch delivered twice.
import { placeBidsOverHttp } from '#testkit/http-load.ts';
import { deliveryVerdict, openItems } from '#testkit/scenario-data.ts';
import { settle } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';

export const scenario: ChaosScenario = {
  name: 'kill-relay-mid-batch',
  milestone: 2,
  summary:
    'Runs two bid-workers and kills the relaying one between publish and mark while 500 bids arrive; the other takes over, nothing is lost, the unmarked batch is delivered again.',
  async run(ctx) {
    const env = await ctx.instance();
    const { database, config } = env;
    const workerConfig = { ...config, outbox: { ...config.outbox, pollMs: 100, batchSize: 20 } };
    const collector = await env.collectEvents();
    // Whichever relays its 5th batch first dies there, published but not marked.
    const workers = await Promise.all(
      [1, 2].map(() => env.service('bid-worker.ts', { config: { ...workerConfig, failpoints: 'relay.after-publish=crash@5' } })),
    );
    await env.service('bid-worker.ts', { config: workerConfig });
    const service = await env.service('bid-service.ts');
    const items = await openItems(database.url, 5);
    const placed = await placeBidsOverHttp({ serviceUrl: () => service.url, items, count: 500, perSecond: 250, concurrency: 4 });
    await settle(() => collector.messages.length, { atLeast: placed.acknowledged.length });
    const killed = (
      await Promise.all(workers.map((w) => Promise.race([w.exited.then((e) => e.signal === 'SIGKILL'), new Promise<boolean>((r) => setTimeout(r, 50, false))])))
    ).filter(Boolean).length;
    ctx.say(`${killed} of 2 failpointed workers died between publish and mark; the spare kept relaying`);
    const v = await deliveryVerdict(database.url, collector.messages);
    return {
      ok: killed >= 1 && v.lost === 0 && v.inDb === 500 && v.duplicates > 0,
      line: `placed ${placed.acknowledged.length} · in db ${v.inDb} · published ${v.published} · lost ${v.lost} · duplicates delivered ${v.duplicates} (at-least-once) · relays killed mid-batch ${killed}`,
      facts: { ...v, placed: placed.acknowledged.length, killed },
    };
  },
};
