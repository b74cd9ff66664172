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
  // JSON.parse accepts null, arrays and strings as a body: none of them is an item.
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { error: new ValidationError('body', 'must be a JSON object') };
  }
  const body = input as Record<string, unknown>;
  if (typeof body.title !== 'string' || body.title.trim() === '') {
    return { error: new ValidationError('title', 'must be a non-empty string') };
  }
  if (body.title.trim().length > MAX_TITLE_LENGTH) {
    return { error: new ValidationError('title', `must be at most ${MAX_TITLE_LENGTH} characters`) };
  }
  const titleProblem = textProblem(body.title);
  if (titleProblem) return { error: new ValidationError('title', titleProblem) };
  const description = body.description ?? '';
  if (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH) {
    return { error: new ValidationError('description', `must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`) };
  }
  const descriptionProblem = textProblem(description);
  if (descriptionProblem) return { error: new ValidationError('description', descriptionProblem) };
  // A start price above the largest bid could never be bid on.
  const price = parseCents(body.startPriceCents, context.maxCents);
  if ('error' in price) return { error: new ValidationError('startPriceCents', price.error) };
  const startAt = body.startAt === undefined ? context.now : parseTimestamp(body.startAt);
  if (startAt === undefined) {
    return { error: new ValidationError('startAt', 'must be an ISO 8601 timestamp with a time zone') };
  }
  const endAt = parseTimestamp(body.endAt);
  if (endAt === undefined) {
    return { error: new ValidationError('endAt', 'must be an ISO 8601 timestamp with a time zone') };
  }
  if (endAt <= startAt) return { error: new ValidationError('endAt', 'must be after startAt') };
  if (endAt <= context.now) return { error: new ValidationError('endAt', 'must be in the future') };
  return { value: { title: body.title.trim(), description, startPriceCents: price.value, startAt, endAt } };
  // #stub
  // throw new TodoError('m1', 'validate a new item in items/parse-new-item.ts');
  // #endregion
}

// #region m1: parse money and timestamps exactly
/**
 * Cents arrive as a JSON string of digits ("9007199254740993") or as a JSON number that is a
 * safe integer. A number above 2^53 was already rounded by JSON.parse, so it is refused.
 * At most `max`: BIGINT's maximum, or for bids and start prices the configured largest bid.
 */
export function parseCents(raw: unknown, max: bigint = MAX_CENTS): { value: bigint } | { error: string } {
  const wanted = `must be a whole number of cents from 1 to ${max}`;
  let cents: bigint;
  if (typeof raw === 'string' && /^[0-9]{1,19}$/.test(raw)) cents = BigInt(raw);
  else if (typeof raw === 'number' && Number.isSafeInteger(raw)) cents = BigInt(raw);
  else if (typeof raw === 'number' && Number.isInteger(raw)) return { error: `${wanted}; above 2^53 send it as a string` };
  else return { error: wanted };
  if (cents <= 0n || cents > max) return { error: wanted };
  return { value: cents };
}

const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An ISO 8601 timestamp with a time zone, whose every part is in range. new Date() rolls
 * over instead of refusing ("2030-02-30" is 2 March), so the parts are checked against the
 * calendar date they name: what is stored is exactly what was sent.
 */
export function parseTimestamp(raw: unknown): Date | undefined {
  const m = typeof raw === 'string' ? ISO_WITH_ZONE.exec(raw) : null;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second = 0, zoneHours = 0, zoneMinutes = 0] = m
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part))) as number[];
  if (hour! > 23 || minute! > 59 || second > 59 || zoneHours > 23 || zoneMinutes > 59) return undefined;
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month! - 1 || calendar.getUTCDate() !== day) return undefined;
  const date = new Date(raw as string);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Why a text cannot be stored as it is, or undefined. PostgreSQL refuses NUL in text (22021,
 * a 500 if it gets that far); an unpaired surrogate has no UTF-8 form, so it would be stored
 * as U+FFFD, not as sent. Invalid UTF-8 bytes never get this far: the body readers refuse them.
 */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  // With the u flag a pair is one code point; only a lone half is in the category Cs.
  if (/\p{Cs}/u.test(text)) return 'must be valid Unicode text (it holds an unpaired surrogate)';
  return undefined;
}
// #stub
// export function parseCents(raw: unknown, max: bigint = MAX_CENTS): { value: bigint } | { error: string } {
//   throw new TodoError('m1', 'parse cents exactly in items/parse-new-item.ts');
// }
//
// export function parseTimestamp(raw: unknown): Date | undefined {
//   throw new TodoError('m1', 'parse an ISO 8601 timestamp in items/parse-new-item.ts');
// }
//
// export function textProblem(text: string): string | undefined {
//   throw new TodoError('m1', 'refuse NUL and unpaired surrogates in items/parse-new-item.ts');
// }
// #endregion

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Item ids are UUIDs; anything else is refused before it reaches SQL (where it would be a 500). */
export function parseItemId(raw: string): Parsed<string> {
  // #region m1: refuse a malformed item id
  return UUID.test(raw) ? { value: raw.toLowerCase() } : { error: new ValidationError('id', 'must be a UUID') };
  // #stub
  // throw new TodoError('m1', 'refuse a malformed item id in items/parse-new-item.ts');
  // #endregion
}
