import type { ConfirmChannel } from 'amqplib';
import { TodoError } from '#runtime/todo-error.ts';
import type { OutboxRow } from './outbox-event.ts';

/**
 * Publishes the rows in order on one confirm channel and resolves once the broker has
 * confirmed every one (rejects if it nacks any, or the channel dies first).
 */
export async function publishBatch(channel: ConfirmChannel, exchange: string, rows: OutboxRow[]): Promise<void> {
  // #region m2: publish persistent, mandatory messages with their ids and headers, respect drain, wait for the confirms
  throw new TodoError('m2', 'publish a batch with confirms in outbox/publish-batch.ts');
  // #endregion
}

/** Resolves on 'drain'; rejects if the channel closes first (a plain once('drain') would hang). */
function drained(channel: ConfirmChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error('the channel closed while waiting for drain'));
    channel.once('close', onClose);
    channel.once('drain', () => {
      channel.off('close', onClose);
      resolve();
    });
  });
}
