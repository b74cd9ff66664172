import { ContractError } from '#runtime/events/contracts.ts';
import { decodeEvent, type AuctionEvent } from '#runtime/events/decode.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { Delivery, Outcome } from './delivery.ts';
import { isDependencyDown } from './dependency-down.ts';

export interface DeliveryPolicy {
  /** Attempts at a message that fails transiently, the first included. */
  maxAttempts: number;
  /** Pause before attempt 2; doubled for each attempt after. */
  retryDelayMs: number;
}

/**
 * Decides what becomes of one delivery. A message that can never be applied (no id, a payload
 * that does not decode or validate) is dead-lettered at once with the reason: retrying it
 * would block the queue for nothing. `apply` commits the effect (or finds it was applied
 * before). When it fails because what it writes to is down (isDependencyDown), the message
 * waits for it, uncounted: an outage is not the message's fault. Any other failure counts as
 * an attempt: retried with a growing pause until `maxAttempts`, then dead-lettered. The caller
 * acks only after this resolves, so only after the commit.
 */
export async function handleDelivery(
  delivery: Delivery,
  apply: (messageId: string, message: AuctionEvent) => Promise<'applied' | 'duplicate'>,
  policy: DeliveryPolicy,
): Promise<Outcome> {
  // #region m4: dead-letter what can never work, apply the rest, wait out an outage, retry the message's own failures a bounded number of times
  if (!delivery.messageId) return { kind: 'dead-letter', reason: 'the message has no message id, so it cannot be deduplicated' };
  let message: AuctionEvent;
  try {
    message = decodeEvent(delivery.type, delivery.content);
  } catch (err) {
    if (err instanceof ContractError) return { kind: 'dead-letter', reason: err.message };
    throw err;
  }
  // The relay sends the event's id as the message id; anything else is not ours to deduplicate.
  if (delivery.messageId !== message.event.eventId)
    return { kind: 'dead-letter', reason: `the message id ${delivery.messageId} is not the event's id ${message.event.eventId}` };
  try {
    return { kind: await apply(delivery.messageId, message) };
  } catch (err) {
    // A learner's unfinished code is not a transient failure: let the consumer report it.
    if (err instanceof TodoError) throw err;
    const reason = (err as Error).message;
    // PostgreSQL or Redis down would fail every message alike: hold them all, count none.
    if (isDependencyDown(err)) return { kind: 'wait', reason };
    if (delivery.attempt >= policy.maxAttempts) return { kind: 'dead-letter', reason: `failed ${delivery.attempt} times, last: ${reason}` };
    return { kind: 'retry', reason, delayMs: policy.retryDelayMs * 2 ** (delivery.attempt - 1) };
  }
  // #stub
  // throw new TodoError('m4', 'decide what becomes of a delivery in consumers/handle-delivery.ts');
  // #endregion
}
