import { eventDecoders } from '#runtime/events/decode.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { OutboxRow } from './outbox-event.ts';

/**
 * Why this row can never be published (oversize, unknown type, payload that does not decode),
 * or undefined when it can. A bad row retried for ever would block every row behind it.
 */
export function problemWith(row: OutboxRow, maxPayloadBytes: number): string | undefined {
  // #region m2: find the rows that can never be published
  if (row.payload.length > maxPayloadBytes) return `payload of ${row.payload.length} bytes is over the ${maxPayloadBytes}-byte limit`;
  const decode = eventDecoders[row.event_type];
  if (!decode) return `unknown event type ${JSON.stringify(row.event_type)}`;
  try {
    decode(row.payload);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
  // #stub
  // throw new TodoError('m2', 'screen outbox rows in outbox/screen-row.ts');
  // #endregion
}
