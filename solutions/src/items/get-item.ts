import type { Db } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { ItemNotFound } from '../errors.ts';
import { itemFromRow, type DbItem, type Item } from './item.ts';
import { parseItemId } from './parse-new-item.ts';

export async function getItem(deps: { db: Db }, rawId: string): Promise<Item> {
  const id = parseItemId(rawId);
  if ('error' in id) throw id.error;
  // #region m1: read one item by id
  const { rows } = await deps.db.query<DbItem>(
    `SELECT id, title, description, start_price_cents, start_at, end_at, created_at
       FROM items
      WHERE id = $1::uuid`,
    [id.value],
  );
  if (!rows[0]) throw new ItemNotFound(id.value);
  return itemFromRow(rows[0]);
  // #stub
  // throw new TodoError('m1', 'read one item in items/get-item.ts');
  // #endregion
}
