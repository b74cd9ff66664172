import type { Config } from '#runtime/config.ts';
import type { Db } from '#runtime/db.ts';
import type { Redis } from '#runtime/redis.ts';
import { itemKey } from './item-live.ts';
import { allItemsLive } from './item-live-from-db.ts';
import { setIfNewer } from './set-if-newer.ts';

/**
 * Repopulates the read model from PostgreSQL. Safe while the consumer runs: each item goes
 * through setIfNewer with its version, so the rebuild never moves an item back past an event
 * the consumer applied meanwhile. Returns how many items it wrote and how many were already current.
 */
export async function rebuildReadModel(
  deps: { db: Db; redis: Redis; config: Pick<Config, 'redis'> },
  onProgress?: (done: number) => void,
): Promise<{ written: number; current: number }> {
  let written = 0;
  let current = 0;
  for await (const page of allItemsLive(deps.db)) {
    for (const item of page) {
      const fields = {
        status: item.status,
        price_cents: item.priceCents?.toString() ?? '',
        leader_id: item.leaderId ?? '',
        bid_count: item.bidCount.toString(),
      };
      if (await setIfNewer(deps.redis, itemKey(deps.config, item.itemId), item.version, fields)) written++;
      else current++;
    }
    onProgress?.(written + current);
  }
  return { written, current };
}
