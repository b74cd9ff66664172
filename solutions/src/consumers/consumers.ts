import type { Db } from '#runtime/db.ts';
import { AUCTION_CLOSED_ROUTING_KEY } from '#runtime/events/auction-closed.ts';
import { BID_PLACED_ROUTING_KEY } from '#runtime/events/bid-placed.ts';
import type { Redis } from '#runtime/redis.ts';
import type { Config } from '#runtime/config.ts';
import { applyToReadModel, READ_MODEL_CONSUMER } from '../read-model/apply-to-read-model.ts';
import { applyStatsBatch, applyStatsOnce, STATS_CONSUMER } from '../stats/apply-stats-once.ts';
import { createBatcher } from './batcher.ts';
import { startConsumer, type ConsumerDeps } from './consume.ts';

const bindings = [BID_PLACED_ROUTING_KEY, AUCTION_CLOSED_ROUTING_KEY];

/**
 * user_stats in PostgreSQL, each message applied once (its id recorded with its effect): in
 * batches of up to CONSUMER_BATCH_SIZE messages per transaction, or one transaction per
 * message when it is 1.
 */
export function startStatsConsumer(deps: ConsumerDeps & { db: Db }) {
  const { batchSize } = deps.config.consumer;
  const apply =
    batchSize > 1
      ? createBatcher((batch) => applyStatsBatch(deps, batch), { maxSize: batchSize, lingerMs: 2 })
      : (messageId: string, message: Parameters<typeof applyStatsOnce>[2]) => applyStatsOnce(deps, messageId, message);
  return startConsumer(deps, { name: STATS_CONSUMER, bindings, apply, dependency: { name: 'PostgreSQL', probe: () => deps.db.query('SELECT 1') } });
}

/** The items' live state in Redis, each event applied only if newer than what is there. */
export const startReadModelConsumer = (deps: ConsumerDeps & { redis: Redis; config: Pick<Config, 'redis'> }) =>
  startConsumer(deps, {
    name: READ_MODEL_CONSUMER,
    bindings,
    apply: (messageId, message) => applyToReadModel(deps, messageId, message),
    dependency: { name: 'Redis', probe: () => deps.redis.ping() },
  });
