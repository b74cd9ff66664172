// kill -9 on the bid-worker while it consumes, three times, each time started again, as an
// orchestrator would. Whatever it had in hand (applied or not, acked or not) is redelivered;
// user_stats and the Redis read model must still end exactly where bids and items say.
import { bidUntilTheyClose, closingAuctionsText, itemsClosingSoon } from '../lib/closing-auctions.ts';
import { describeIdempotentStats, idempotentStatsFacts, idempotentStatsHeld, idempotentStatsLine, waitForIdempotentStats } from '../lib/idempotent-stats.ts';
import { duplicatesSkipped, throwIfUnwritten } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';

const KILLS = 3;

const handled = (worker: ServiceProcess) => worker.events('message-handled').length;

export const scenario: ChaosScenario = {
  name: 'consumer-killed',
  milestone: 4,
  summary: `${closingAuctionsText}; bid-worker is killed with SIGKILL ${KILLS} times while it consumes, and started again each time; user_stats and the read model must equal what bids and items say.`,
  async run(ctx) {
    const env = await ctx.instance({ closer: { batchSize: 10, pollMs: 100 } });
    const config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 100 } };
    const startWorker = () => env.service('bid-worker.ts', { config, extraEnv: { LOG_LEVEL: 'debug' } });
    const workers: ServiceProcess[] = [];
    let service: ServiceProcess | undefined;
    // biome-ignore lint/style/useConst: todo() reads it before the load is started, so it cannot be a const declared there.
    let load: ReturnType<typeof bidUntilTheyClose> | undefined;
    const todo = throwIfUnwritten(() => [['bid-service', service], ...workers.map((w): [string, ServiceProcess] => ['bid-worker', w])]);
    const abort = env.own(new AbortController(), (a) => a.abort(), 'bidders');
    const [first, svc] = await Promise.all([startWorker(), env.service('bid-service.ts', { config })]);
    workers.push(first);
    service = svc;
    const items = await itemsClosingSoon(config.databaseUrl);
    const started = Date.now();
    load = bidUntilTheyClose({ serviceUrl: () => service!.url, items, signal: abort.signal });
    let stopped: Awaited<typeof load> | undefined;
    void load.then((r) => (stopped = r));
    let kills = 0;
    while (kills < KILLS) {
      const worker = workers.at(-1)!;
      // Mid-stream: once this worker has handled a few messages, at a random moment within about a second.
      const deadline = Date.now() + 5_000;
      while (handled(worker) < 5 && Date.now() < deadline && !stopped?.unimplemented) await sleep(50);
      if (stopped?.unimplemented) throw new Error(`bid-service did not accept bids: ${stopped.unimplemented}`);
      todo();
      await sleep(200 + Math.random() * 800);
      const inHand = handled(worker);
      await worker.stop('SIGKILL');
      kills++;
      ctx.say(`kill -9 ${kills} at ${((Date.now() - started) / 1000).toFixed(1)} s, after ${inHand} messages handled by that worker; starting it again`);
      workers.push(await startWorker());
    }
    const placed = await load;
    if (placed.unimplemented) throw new Error(`bid-service did not accept bids: ${placed.unimplemented}`);
    ctx.say(`load over: ${placed.accepted} bids accepted, ${placed.tooLow} too low, ${placed.ended} after the end, ${placed.failed} failed`);
    const state = await waitForIdempotentStats(config, items, { timeoutMs: 30_000, check: todo });
    describeIdempotentStats(state, ctx.say);
    const skipped = duplicatesSkipped(workers);
    return {
      ok: idempotentStatsHeld(state) && kills === KILLS,
      line: idempotentStatsLine(state, [
        `worker kills ${kills}`,
        `duplicates skipped: user-stats ${skipped['user-stats'] ?? 0}, read-model ${skipped['read-model'] ?? 0}`,
      ]),
      facts: {
        ...idempotentStatsFacts(state),
        kills,
        duplicatesSkippedStats: skipped['user-stats'] ?? 0,
        duplicatesSkippedReadModel: skipped['read-model'] ?? 0,
      },
    };
  },
};
