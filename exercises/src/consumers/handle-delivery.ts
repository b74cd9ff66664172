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
  throw new TodoError('m4', 'decide what becomes of a delivery in consumers/handle-delivery.ts');
  // #endregion
}
