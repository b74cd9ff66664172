import type { Db } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { ValidationError } from '../errors.ts';
import { itemFromRow, type DbItem, type Item } from './item.ts';
import { parseItemId } from './parse-new-item.ts';

export const MAX_PAGE_SIZE = 100;

export interface ItemPage {
  items: Item[];
  /** Pass as `after` to get the next page; absent on the last page. */
  nextAfter?: string;
}

/**
 * Items in creation order, a page at a time. The cursor is the last id seen (keyset
 * pagination): unlike OFFSET, a page costs the same at row 1,000,000 as at row 10.
 */
export async function listItems(deps: { db: Db }, options: { limit?: number; after?: string } = {}): Promise<ItemPage> {
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError('limit', `must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  let after: string | null = null;
  if (options.after !== undefined) {
    const parsed = parseItemId(options.after);
    if ('error' in parsed) throw new ValidationError('after', 'must be the id of an item from the previous page');
    after = parsed.value;
  }
  // #region m1: list a page of items in creation order
  throw new TodoError('m1', 'list a page of items in items/list-items.ts');
  // #endregion
}
