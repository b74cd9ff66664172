import { TodoError } from '#runtime/todo-error.ts';

/**
 * How long to wait before retry number `attempt` (1, 2, …): exponential from 100 ms, capped
 * at `maxMs`, with "full jitter" so that relays restarted together do not retry in lockstep.
 */
export function backoffDelay(attempt: number, maxMs: number, random: () => number = Math.random): number {
  // #region m2: exponential backoff with full jitter, capped
  throw new TodoError('m2', 'compute the backoff in outbox/backoff.ts');
  // #endregion
}
