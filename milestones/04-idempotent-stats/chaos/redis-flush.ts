// The Redis read model is wiped while bids flow and auctions close (someone ran FLUSHDB, or
// Redis restarted without persistence). Reads must fall back to PostgreSQL meanwhile; the
// rebuild runs while the consumer keeps applying events, and afterwards every item in Redis
// must equal what PostgreSQL says: neither side may move an item back.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bidUntilTheyClose, closingAuctionsText, itemsClosingSoon } from '../lib/closing-auctions.ts';
import { describeIdempotentStats, idempotentStatsFacts, idempotentStatsHeld, idempotentStatsLine, waitForIdempotentStats } from '../lib/idempotent-stats.ts';
import { throwIfUnwritten } from '#testkit/scenario-data.ts';
import { sleep } from '#testkit/scenario-observers.ts';
import type { ChaosScenario } from '#testkit/scenario.ts';
import { deleteRedisKeys } from '#runtime/redis.ts';
import type { Config } from '#runtime/config.ts';
import { createDb, type Db } from '#runtime/db.ts';
import { createLogger } from '#runtime/logger.ts';
import { createRedis, type Redis } from '#runtime/redis.ts';
import type { ServiceProcess } from '#testkit/service-process.ts';

/** By then a few auctions have closed: their keys get no more events, only the rebuild brings them back. */
const WIPE_AT_MS = 4_500;
/** How long the read model stays empty (but for what the consumer writes) before the rebuild. */
const EMPTY_MS = 1_000;

type Rebuild = (deps: { db: Db; redis: Redis; config: Pick<Config, 'redis'> }) => Promise<{ written: number; current: number }>;
type LiveRead = { status: number; source?: string };

async function readLive(serviceUrl: string, items: string[]): Promise<LiveRead[]> {
  return Promise.all(
    items.map((id) =>
      fetch(`${serviceUrl}/items/${id}/live`, { signal: AbortSignal.timeout(5_000) }).then(
        async (res) => ({ status: res.status, source: ((await res.json().catch(() => ({}))) as { source?: string }).source }),
        () => ({ status: 0 }),
      ),
    ),
  );
}

export const scenario: ChaosScenario = {
  name: 'redis-flush',
  milestone: 4,
  summary: `${closingAuctionsText}; ${WIPE_AT_MS / 1000} s in, every read-model key is deleted, reads must fall back to PostgreSQL, then the read model is rebuilt while the consumer runs and must equal PostgreSQL for every item.`,
  async run(ctx) {
    const env = await ctx.instance({ closer: { batchSize: 10, pollMs: 100 } });
    const config = { ...env.config, outbox: { ...env.config.outbox, pollMs: 100 } };
    const log = createLogger({ name: 'chaos', level: 'silent' });
    const db = env.own(createDb({ url: config.databaseUrl, log, max: 2 }), (d) => d.end(), 'pool');
    const redis = env.own(
      createRedis({ url: config.redisUrl, log }),
      async (r) => {
        if (r.isOpen) await r.quit();
      },
      'Redis client',
    );
    let service: ServiceProcess | undefined;
    let worker: ServiceProcess | undefined;
    // biome-ignore lint/style/useConst: todo() reads it before the load is started, so it cannot be a const declared there.
    let load: ReturnType<typeof bidUntilTheyClose> | undefined;
    const todo = throwIfUnwritten(() => [
      ['bid-service', service],
      ['bid-worker', worker],
    ]);
    const abort = env.own(new AbortController(), (a) => a.abort(), 'bidders');
    const { rebuildReadModel } = (await import(pathToFileURL(join(ctx.tree, 'src/read-model/rebuild-read-model.ts')).href)) as { rebuildReadModel: Rebuild };
    await redis.connect();
    [service, worker] = await Promise.all([env.service('bid-service.ts', { config }), env.service('bid-worker.ts', { config })]);
    const items = await itemsClosingSoon(config.databaseUrl);
    const loadStarted = Date.now();
    load = bidUntilTheyClose({ serviceUrl: () => service!.url, items, signal: abort.signal });
    load.catch(() => undefined); // awaited below
    await Promise.race([sleep(WIPE_AT_MS), load]);
    const early = await Promise.race([load, sleep(0).then(() => undefined)]);
    if (early?.unimplemented) throw new Error(`bid-service did not accept bids: ${early.unimplemented}`);
    todo();

    const wipedAt = Date.now();
    const wiped = await deleteRedisKeys(config.redisUrl, config.redis.keyPrefix);
    ctx.say(`wiped the read model: ${wiped} keys deleted (SCAN + DEL on ${config.redis.keyPrefix}*)`);
    const during: LiveRead[] = [];
    const emptySince = Date.now();
    do {
      during.push(...(await readLive(service.url, items)));
      await sleep(250);
    } while (Date.now() - emptySince < EMPTY_MS);
    const fromPostgres = during.filter((r) => r.status === 200 && r.source === 'postgres').length;
    const answered = during.filter((r) => r.status === 200).length;
    ctx.say(`live reads while it was empty: ${during.length}, answered ${answered}, from postgres ${fromPostgres}`);
    const rebuilt = await rebuildReadModel({ db, redis, config });
    ctx.say(`rebuilt while the consumer runs: ${rebuilt.written} items written, ${rebuilt.current} already current`);
    const after = await readLive(service.url, items);
    const fromRedisAfter = after.filter((r) => r.status === 200 && r.source === 'redis').length;

    const placed = await load;
    if (placed.unimplemented) throw new Error(`bid-service did not accept bids: ${placed.unimplemented}`);
    ctx.say(`load over: ${placed.accepted} bids accepted, ${placed.tooLow} too low, ${placed.ended} after the end, ${placed.failed} failed`);
    const state = await waitForIdempotentStats(config, items, { timeoutMs: 30_000, check: todo });
    describeIdempotentStats(state, ctx.say);
    return {
      ok: idempotentStatsHeld(state) && answered === during.length && fromPostgres > 0 && fromRedisAfter === items.length,
      line: idempotentStatsLine(state, [
        `read model wiped ${((wipedAt - loadStarted) / 1000).toFixed(1)} s in (${wiped} keys), rebuilt ${rebuilt.written + rebuilt.current} items (${rebuilt.current} already current)`,
        `live reads while wiped ${during.length}: answered ${answered}, from postgres ${fromPostgres}`,
        `from redis after the rebuild ${fromRedisAfter} of ${items.length}`,
      ]),
      facts: {
        ...idempotentStatsFacts(state),
        keysWiped: wiped,
        rebuiltWritten: rebuilt.written,
        rebuiltCurrent: rebuilt.current,
        liveReadsWhileWiped: during.length,
        liveReadsAnswered: answered,
        liveReadsFromPostgres: fromPostgres,
        fromRedisAfterRebuild: fromRedisAfter,
      },
    };
  },
};
