import type { Config } from '#runtime/config.ts';
import type { Db } from '#runtime/db.ts';
import type { Logger } from '#runtime/logger.ts';
import type { Redis } from '#runtime/redis.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { ItemNotFound } from '../errors.ts';
import { parseItemId } from '../items/parse-new-item.ts';
import { itemKey, type ItemLive } from './item-live.ts';
import { itemLiveFromDb } from './item-live-from-db.ts';

/**
 * The item's live state from the Redis read model; from PostgreSQL when Redis is down or has
 * no state for the item yet (no event applied, or the read model was wiped). Throws ItemNotFound.
 */
export async function readItemLive(deps: { db: Db; redis: Redis; log: Logger; config: Pick<Config, 'redis'> }, rawId: string): Promise<ItemLive> {
  const id = parseItemId(rawId);
  if ('error' in id) throw id.error;
  const itemId = id.value;
  // #region m4: read the item from Redis, fall back to PostgreSQL
  throw new TodoError('m4', 'read the live item in read-model/read-item-live.ts');
  // #endregion
}
