// The lesson's question, side by side: bid-service dies right after a bid commits, once with
// the naive dual write, once with the outbox. What reaches the consumers?
import { placeBidsOverHttp } from '#testkit/http-load.ts';
import { deliveryVerdict, openItems } from '#testkit/scenario-data.ts';
import { settle } from '#testkit/scenario-observers.ts';
import type { ChaosContext, ChaosScenario } from '#testkit/scenario.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';

const BIDS = 100;

async function run(ctx: ChaosContext, mode: 'dual-write' | 'outbox') {
  const env = await ctx.instance({ bidWriteMode: mode });
  const { database, config } = env;
  const collector = await env.collectEvents();
  await env.service('bid-worker.ts', { config: { ...config, outbox: { ...config.outbox, pollMs: 100 } } });
  let service: ServiceProcess = await env.service('bid-service.ts', { config: { ...config, failpoints: `bid.after-commit=crash@${BIDS / 4}` } });
  let crashes = 0;
  const items = await openItems(database.url, 5);
  const load = await placeBidsOverHttp({
    serviceUrl: () => service.url,
    items,
    count: BIDS,
    onFailure: async () => {
      // The crash: the bidder got no answer. Start a fresh service, as an orchestrator would.
      if ((await Promise.race([service.exited.then(() => true), new Promise((r) => setTimeout(r, 1_000, false))])) === false) return;
      crashes++;
      service = await env.service('bid-service.ts');
    },
  });
  await settle(() => collector.messages.length, { atLeast: load.acknowledged.length });
  const verdict = await deliveryVerdict(database.url, collector.messages);
  // The second mode runs on a quiet machine: this one's processes and names go now, not when the scenario ends.
  await env.release();
  return { mode, crashes, acknowledged: load.acknowledged.length, ...verdict };
}

export const scenario: ChaosScenario = {
  name: 'crash-after-commit',
  milestone: 2,
  summary: `Kills bid-service right after one of ${BIDS} bids commits, first with the naive dual write, then with the outbox; counts the bids whose event never arrives.`,
  async run(ctx) {
    ctx.say('naive dual write: commit, then publish');
    const naive = await run(ctx, 'dual-write');
    ctx.say(`naive: placed ${naive.acknowledged} · in db ${naive.inDb} · published ${naive.published} · lost ${naive.lost}`);
    ctx.say('outbox: bid and event in one transaction, relay publishes');
    const outbox = await run(ctx, 'outbox');
    const line = (r: typeof naive) =>
      `placed ${r.acknowledged} · in db ${r.inDb} · published ${r.published} · lost ${r.lost} · duplicates delivered ${r.duplicates}`;
    return {
      // The demonstration holds when the naive version lost what the outbox kept.
      ok: naive.crashes === 1 && outbox.crashes === 1 && naive.lost >= 1 && outbox.lost === 0 && outbox.inDb > 0 && outbox.published === outbox.inDb,
      line: `naive: ${line(naive)}  |  outbox: ${line(outbox)}`,
      facts: { naiveLost: naive.lost, outboxLost: outbox.lost, naiveInDb: naive.inDb, outboxInDb: outbox.inDb, outboxPublished: outbox.published },
    };
  },
};
