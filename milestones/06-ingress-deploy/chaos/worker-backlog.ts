// A backlog: bids are placed through the API while no bid-worker runs, so their outbox rows
// pile up unpublished. Then three bid-workers start at once, as an orchestrator scaling up
// would: their relays claim the backlog side by side, their consumers share the queues. The
// backlog must drain completely, and user_stats and the read model must end exact.
import { readModelDifferences, statsDifferences } from '../../04-idempotent-stats/lib/idempotent-stats.ts';
import { consumerQueueDepths, openItems } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { loadNote, patient } from '#testkit/patience.ts';
import { withPgClient } from '#runtime/pg-client.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';
import { bidLoad, bidsVerdict, directClient } from './lib/api-load.ts';

const BIDS = 1_500;
const ITEMS = 20;
const CLIENTS = 16;
const WORKERS = 3;
const DRAIN_TIMEOUT_MS = 20_000;

async function pendingEvents(databaseUrl: string): Promise<number> {
  return withPgClient(databaseUrl, async (client) =>
    Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n),
  );
}

export const scenario: ChaosScenario = {
  name: 'worker-backlog',
  milestone: 6,
  summary: `${BIDS} bids on ${ITEMS} items through the API while no bid-worker runs, then ${WORKERS} bid-workers start at once; the outbox and the queues must drain, user_stats and the read model must end exact.`,
  async run(ctx) {
    const env = await ctx.instance();
    const config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 100 } };
    const processes: ServiceProcess[] = [];
    const abort = env.own(new AbortController(), (a) => a.abort(), 'bidders');
    const service = await env.service('bid-service.ts', { config });
    processes.push(service);
    if (!service.apiUrl) throw new Error('bid-service did not log its apiPort: it starts the API server in bid-service.ts');
    const client = directClient(service.apiUrl);
    const items = await openItems(config.databaseUrl, ITEMS);
    const t0 = Date.now();
    const placed = await bidLoad({ client: () => client, auth: config, items, clients: CLIENTS, signal: abort.signal, maxAccepted: BIDS });
    const backlog = await pendingEvents(config.databaseUrl);
    ctx.say(
      `${placed.accepted.length} bids accepted (${placed.refused} refused too low) in ${((Date.now() - t0) / 1000).toFixed(1)} s with no worker running: ${backlog} outbox events pending`,
    );
    const startedAt = Date.now();
    processes.push(...(await Promise.all(Array.from({ length: WORKERS }, () => env.service('bid-worker.ts', { config })))));
    ctx.say(`${WORKERS} bid-workers listening after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    let pending = backlog;
    let queued = 0;
    let deadLettered = 0;
    let stats: Awaited<ReturnType<typeof statsDifferences>> = [];
    let readModel: Awaited<ReturnType<typeof readModelDifferences>> = [];
    let drainedAt: number | undefined;
    let agreedBefore = false;
    let lastSaid = Date.now();
    // 20 s on a quiet machine, longer on a busy one (a fixed 20 s failed at a load of 18 on 2 cores).
    const drainTimeoutMs = patient(DRAIN_TIMEOUT_MS);
    const deadline = startedAt + drainTimeoutMs;
    for (;;) {
      pending = await pendingEvents(config.databaseUrl);
      ({ queued, deadLettered } = await consumerQueueDepths(config));
      if (Date.now() - lastSaid > 3_000) {
        lastSaid = Date.now();
        ctx.say(`${((Date.now() - startedAt) / 1000).toFixed(1)} s: outbox pending ${pending}, queued ${queued}`);
      }
      if (pending === 0 && queued === 0) {
        stats = await statsDifferences(config.databaseUrl);
        readModel = await readModelDifferences(config.databaseUrl, config.redisUrl, config.redis.keyPrefix, items);
      }
      const agreed = pending === 0 && queued === 0 && stats.length === 0 && readModel.length === 0;
      if (agreed) drainedAt ??= Date.now();
      else drainedAt = undefined;
      // Two agreeing reads in a row: a late redelivery must change nothing.
      if ((agreed && agreedBefore) || Date.now() > deadline) break;
      agreedBefore = agreed;
      await sleep(agreed ? 600 : 200);
    }
    // The differences at the end, whatever the loop saw last.
    stats = await statsDifferences(config.databaseUrl);
    readModel = await readModelDifferences(config.databaseUrl, config.redisUrl, config.redis.keyPrefix, items);
    const drainSeconds = drainedAt === undefined ? undefined : (drainedAt - startedAt) / 1000;
    ctx.say(
      `drained ${drainSeconds === undefined ? `not within the time limit (${drainTimeoutMs / 1000} s; ${loadNote()})` : `in ${drainSeconds.toFixed(1)} s`}`,
    );
    // Messages the consumers had to try again, by reason (a deadlock between workers' batches, …).
    const retried: Record<string, number> = {};
    for (const w of processes.slice(1))
      for (const l of w.events('message-retried')) retried[String(l.reason).slice(0, 100)] = (retried[String(l.reason).slice(0, 100)] ?? 0) + 1;
    for (const [reason, n] of Object.entries(retried).slice(0, 3)) ctx.say(`messages tried again ${n}×: ${reason}`);
    const retries = Object.values(retried).reduce((a, b) => a + b, 0);
    for (const d of stats.slice(0, 3)) ctx.say(`user_stats of ${d.user_id}: expected ${d.expected} (bids/won/spent), found ${d.actual}`);
    for (const d of readModel.slice(0, 3)) ctx.say(`read model of ${d.itemId}: expected ${d.expected}, found ${d.actual}`);
    const db = await bidsVerdict(config.databaseUrl, placed.accepted);
    const drained = pending === 0 && queued === 0 && deadLettered === 0;
    return {
      ok: drained && stats.length === 0 && readModel.length === 0 && db.lost === 0 && db.duplicated === 0 && backlog > 0,
      line: `backlog ${backlog} events · outbox pending ${pending} · queued ${queued} · dead-lettered ${deadLettered} · user_stats differences ${stats.length} · read model differences ${readModel.length} · lost ${db.lost} · consumer retries ${retries} · time to drain ${drainSeconds === undefined ? `over ${drainTimeoutMs / 1000} s` : `${drainSeconds.toFixed(1)} s`}`,
      facts: {
        bids: placed.accepted.length,
        backlog,
        pending,
        queued,
        deadLettered,
        statsDifferences: stats.length,
        readModelDifferences: readModel.length,
        lost: db.lost,
        consumerRetries: retries,
        drainSeconds: drainSeconds ?? -1,
      },
    };
  },
};
