import { TodoError } from '#runtime/todo-error.ts';
import { ValidationError } from '../errors.ts';
import type { NewItem } from './item.ts';

export type Parsed<T> = { value: T } | { error: ValidationError };

/** The largest value a PostgreSQL BIGINT holds. */
export const MAX_CENTS = 9_223_372_036_854_775_807n;
export const MAX_TITLE_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 5_000;

/**
 * Checks untrusted input (a parsed JSON body) and returns a NewItem, or the first problem
 * found as a ValidationError naming the field. Expected bad input is returned, not thrown.
 */
export function parseNewItem(input: unknown, context: { now: Date; maxCents: bigint }): Parsed<NewItem> {
  // #region m1: validate a new item (title, description, startPriceCents, startAt, endAt)
  throw new TodoError('m1', 'validate a new item in items/parse-new-item.ts');
  // #endregion
}

// #region m1: parse money and timestamps exactly
export function parseCents(raw: unknown, max: bigint = MAX_CENTS): { value: bigint } | { error: string } {
  throw new TodoError('m1', 'parse cents exactly in items/parse-new-item.ts');
}

export function parseTimestamp(raw: unknown): Date | undefined {
  throw new TodoError('m1', 'parse an ISO 8601 timestamp in items/parse-new-item.ts');
}

export function textProblem(text: string): string | undefined {
  throw new TodoError('m1', 'refuse NUL and unpaired surrogates in items/parse-new-item.ts');
}
// #endregion

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Item ids are UUIDs; anything else is refused before it reaches SQL (where it would be a 500). */
export function parseItemId(raw: string): Parsed<string> {
  // #region m1: refuse a malformed item id
  throw new TodoError('m1', 'refuse a malformed item id in items/parse-new-item.ts');
  // #endregion
}
