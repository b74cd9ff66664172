import type { Redis } from '#runtime/redis.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { ItemLiveFields } from './item-live.ts';

/**
 * Writes the fields and the version into the hash at `key` if, and only if, `version` is
 * higher than the version stored there (or none is), as one atomic step in Redis. Returns
 * whether it wrote. A duplicate (same version) or a late event (lower version) changes nothing.
 */
export async function setIfNewer(redis: Redis, key: string, version: bigint, fields: ItemLiveFields): Promise<boolean> {
  // #region m4: compare and set the item's hash atomically, in a Lua script
  throw new TodoError('m4', 'write the read model only when newer, in read-model/set-if-newer.ts');
  // #endregion
}
