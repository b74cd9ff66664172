import { eventDecoders } from '#runtime/events/decode.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { OutboxRow } from './outbox-event.ts';

/**
 * Why this row can never be published (oversize, unknown type, payload that does not decode),
 * or undefined when it can. A bad row retried for ever would block every row behind it.
 */
export function problemWith(row: OutboxRow, maxPayloadBytes: number): string | undefined {
  // #region m2: find the rows that can never be published
  throw new TodoError('m2', 'screen outbox rows in outbox/screen-row.ts');
  // #endregion
}
