import type { Db } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { itemFromRow, type DbItem, type Item } from './item.ts';
import { parseNewItem } from './parse-new-item.ts';

/** Validates the input and stores the item. Bad input throws a ValidationError and writes nothing. */
export async function createItem(deps: { db: Db; config: { bidding: { maxBidCents: bigint } } }, input: unknown, now: Date = new Date()): Promise<Item> {
  const parsed = parseNewItem(input, { now, maxCents: deps.config.bidding.maxBidCents });
  if ('error' in parsed) throw parsed.error;
  const item = parsed.value;
  await failpoint('items.before-insert');
  // #region m1: insert the item and return it as stored
  throw new TodoError('m1', 'insert the item in items/create-item.ts');
  // #endregion
}
