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
  // A script runs alone in Redis: no other client's write can land between the compare and
  // the set (a GET in Node.js, then an HSET, would let a late event overwrite a newer one).
  const script = `
    local stored = redis.call('HGET', KEYS[1], 'version')
    if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
    redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 2))
    return 1`;
  const written = await redis.eval(script, { keys: [key], arguments: [version.toString(), ...Object.entries(fields).flat()] });
  return written === 1;
  // #stub
  // throw new TodoError('m4', 'write the read model only when newer, in read-model/set-if-newer.ts');
  // #endregion
}
