// The two crashes milestone 4 is about, again and again while auctions run and close: the relay
// dies after publishing a batch and before marking it (the batch goes out twice), a consumer
// dies after committing a message and before acking it (RabbitMQ delivers it again). Each
// restart crashes somewhere else; then one clean worker finishes. user_stats and the Redis
// read model must end exactly where a query over bids and items says.
import { coerceError } from '#runtime/coerce-error.ts';
import { bidUntilTheyClose, closingAuctionsText, itemsClosingSoon } from '../lib/closing-auctions.ts';
import { describeIdempotentStats, idempotentStatsFacts, idempotentStatsHeld, idempotentStatsLine, waitForIdempotentStats } from '../lib/idempotent-stats.ts';
import { duplicatesSkipped, isTodoLine, loggedTodo, throwIfUnwritten } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';

/**
 * One worker per entry, each dying at its crash point; then a clean one. The relay's come first:
 * they need new outbox rows. A consumer's small hit counts are reached even once the bids have
 * stopped, on what the previous crash left unacked.
 */
const STORM = [
  'relay.after-publish=crash@2',
  'user-stats.before-ack=crash@12',
  'relay.after-publish=crash@3;read-model.before-ack=crash@20',
  'user-stats.before-ack=crash@6',
  'read-model.before-ack=crash@4;user-stats.before-ack=crash@8',
];
/** A worker whose crash point is not reached by then is stopped and the next one started. */
const WORKER_CHANCE_MS = 4_000;
/** No failpointed worker is started after this (from the first bid). */
const STORM_MS = 12_000;

const firedCrash = (lines: string) => /failpoint "([^"]+)" fired: crash/.exec(lines)?.[1];

export const scenario: ChaosScenario = {
  name: 'duplicate-storm',
  milestone: 4,
  summary: `${closingAuctionsText}; bid-worker is crashed ${STORM.length} times, the relay after a publish and the consumers before an ack, then runs clean; user_stats and the read model must equal what bids and items say.`,
  async run(ctx) {
    const env = await ctx.instance({ closer: { batchSize: 10, pollMs: 100 } });
    const config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 100 } };
    const workers: ServiceProcess[] = [];
    const crashes: string[] = [];
    let service: ServiceProcess | undefined;
    let clean: ServiceProcess | undefined;
    let storm: Promise<void> = Promise.resolve();
    let calmed = false;
    let calmDown!: () => void;
    const calm = new Promise<undefined>((resolve) => (calmDown = () => ((calmed = true), resolve(undefined))));
    const startWorker = async (failpoints: string): Promise<ServiceProcess | undefined> => {
      try {
        const worker = await env.service('bid-worker.ts', { config: { ...config, failpoints }, extraEnv: { LOG_LEVEL: 'debug' } });
        workers.push(worker);
        return worker;
      } catch (err) {
        // Dead at a crash point before it even said it listens (a backlog was waiting).
        const fired = firedCrash(coerceError(err).message);
        if (!fired) throw err;
        crashes.push(fired);
        return undefined;
      }
    };
    const abort = new AbortController();
    const todo = throwIfUnwritten(() => [['bid-service', service], ...workers.map((w): [string, ServiceProcess] => ['bid-worker', w])]);
    // The first failpointed worker starts next to bid-service, ready when the bids begin.
    let first: Promise<ServiceProcess | undefined> = Promise.resolve(undefined);
    first = startWorker(STORM[0]!);
    first.catch(() => undefined); // awaited by the storm
    service = await env.service('bid-service.ts', { config });
    // Released first, whatever fails: the bids stop and the storm starts no more workers (one
    // it is starting now finishes, at once); then the kit stops the processes.
    env.own(
      abort,
      async (a) => {
        a.abort();
        calmDown();
        await first.catch(() => undefined);
        await storm.catch(() => undefined);
      },
      'bidders and the storm',
    );
    const items = await itemsClosingSoon(env.database.url);
    const started = Date.now();
    storm = (async () => {
      for (const [i, failpoints] of STORM.entries()) {
        if (i > 0 && (calmed || Date.now() - started > STORM_MS || workers.some(loggedTodo))) break;
        const worker = await (i === 0 ? first : startWorker(failpoints));
        if (!worker) {
          ctx.say(`crash ${crashes.length} at ${crashes.at(-1)} (before it was up), ${((Date.now() - started) / 1000).toFixed(1)} s in`);
          continue;
        }
        const unwritten = worker.waitForLog(isTodoLine, WORKER_CHANCE_MS).then(
          () => undefined,
          () => undefined,
        );
        const ended = await Promise.race([worker.exited, sleep(WORKER_CHANCE_MS).then(() => undefined), unwritten, calm]);
        if (ended?.signal === 'SIGKILL') {
          crashes.push(firedCrash(worker.otherOutput.join('\n')) ?? 'unknown');
          ctx.say(`crash ${crashes.length} at ${crashes.at(-1)}, ${((Date.now() - started) / 1000).toFixed(1)} s in`);
        } else if (loggedTodo(worker)) {
          abort.abort(); // it will never converge: stop the bids too, the verdict says why
          break;
        } else {
          ctx.say(`${failpoints}: not reached within ${WORKER_CHANCE_MS / 1000} s; next`);
          await worker.stop('SIGTERM', 5_000);
        }
      }
      if (calmed || workers.some(loggedTodo)) return;
      clean = await startWorker('');
      ctx.say(`a clean worker runs from ${((Date.now() - started) / 1000).toFixed(1)} s`);
    })();
    storm.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    const load = await bidUntilTheyClose({ serviceUrl: () => service!.url, items, signal: abort.signal });
    if (load.unimplemented) throw new Error(`bid-service did not accept bids: ${load.unimplemented}`);
    ctx.say(`load over: ${load.accepted} bids accepted, ${load.tooLow} too low, ${load.ended} after the end, ${load.failed} failed`);
    await storm;
    todo();
    if (!clean) throw new Error('no clean bid-worker could be started after the storm');
    const state = await waitForIdempotentStats(config, items, { timeoutMs: 30_000, check: todo });
    describeIdempotentStats(state, ctx.say);
    const relayCrashes = crashes.filter((c) => c.startsWith('relay.')).length;
    const skipped = duplicatesSkipped(workers);
    return {
      ok: idempotentStatsHeld(state) && crashes.length >= 1,
      line: idempotentStatsLine(state, [
        `worker crashes ${crashes.length} (relay after publish ${relayCrashes}, consumer before ack ${crashes.length - relayCrashes})`,
        `duplicates skipped: user-stats ${skipped['user-stats'] ?? 0}, read-model ${skipped['read-model'] ?? 0}`,
      ]),
      facts: {
        ...idempotentStatsFacts(state),
        crashes: crashes.length,
        relayCrashes,
        duplicatesSkippedStats: skipped['user-stats'] ?? 0,
        duplicatesSkippedReadModel: skipped['read-model'] ?? 0,
      },
    };
  },
};
