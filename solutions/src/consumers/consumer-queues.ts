// The queues a consumer owns, as RabbitMQ keeps them: what kind of queue, how many deliveries a
// message gets, where it goes after that. Declared the same way by every worker (RabbitMQ
// refuses a declare whose arguments differ from the existing queue's).
import type { Channel, Options } from 'amqplib';
import type { Logger } from '#runtime/logger.ts';

/**
 * Deliveries of one message, counted by RabbitMQ (header x-delivery-count), after which the
 * queue itself moves it to the dead-letter queue. The consumer counts the message's own
 * failures (x-attempt) and dead-letters it long before; this limit catches what the consumer
 * never sees fail: a message whose handling kills the process, or loses its channel, every
 * time. High enough that a few crashes and broker restarts with the message in hand do not
 * reach it (every return counts on RabbitMQ 3.x).
 */
export const DELIVERY_LIMIT = 20;

/**
 * A consumer's queue is a quorum queue: replicated (on a cluster), written to disk before the
 * broker confirms a publish, and counting deliveries. What it cannot hand to a consumer any
 * more it dead-letters, at least once (the broker keeps the message until the dead-letter
 * queue confirmed it; this needs x-overflow reject-publish), to the dead-letter queue through
 * the default exchange.
 */
export function consumerQueueOptions(deadLetterQueue: string): Options.AssertQueue {
  // #region m4: declare the queue as a quorum queue that counts deliveries and dead-letters past the limit
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueue,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
  // #stub
  // return { durable: true };
  // #endregion
}

/** The dead-letter queue keeps what a person must look at: a quorum queue too. */
export const deadLetterQueueOptions: Options.AssertQueue = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

/** An existing queue's type cannot change, and it still holds messages or a consumer. */
export class QueueTypeMismatch extends Error {
  override name = 'QueueTypeMismatch';
  constructor(
    readonly queue: string,
    cause: string,
  ) {
    super(
      `the queue ${queue} already exists with other arguments (a classic queue from an earlier version of the workbook, most likely: ${cause}), ` +
        `and it still holds messages or has a consumer, so it is not replaced. A queue's type cannot change on redeclare. ` +
        `Stop the relays, let the old workers drain it (or move its messages elsewhere), stop them, then delete it ` +
        `(RabbitMQ's management UI on port 15672, or \`rabbitmqctl delete_queue ${queue}\`) and start the worker again: it declares the queue as a quorum queue.`,
    );
  }
}

/**
 * Declares a consumer's queue and its dead-letter queue. A queue left by an earlier version
 * under the same name, with other arguments (a classic queue), is replaced only if it is empty
 * and unused, so no message is lost; otherwise QueueTypeMismatch says what to do. Each declare
 * gets its own channel: a refused one closes its channel.
 */
export async function declareConsumerQueues(
  connection: { createChannel(): Promise<Channel> },
  names: { queue: string; deadLetterQueue: string },
  log: Logger,
): Promise<void> {
  const declare = async (queue: string, options: Options.AssertQueue) => {
    const attempt = async (run: (ch: Channel) => Promise<unknown>) => {
      const ch = await connection.createChannel();
      ch.on('error', () => undefined); // a refused declare or delete closes the channel; its promise rejects with why
      try {
        await run(ch);
      } finally {
        await ch.close().catch(() => undefined);
      }
    };
    try {
      await attempt((ch) => ch.assertQueue(queue, options));
    } catch (err) {
      if ((err as { code?: number }).code !== 406) throw err;
      const cause = (err as Error).message.replace(/^.*PRECONDITION_FAILED - /, '').replace(/"$/, '');
      try {
        await attempt((ch) => ch.deleteQueue(queue, { ifEmpty: true, ifUnused: true }));
      } catch {
        throw new QueueTypeMismatch(queue, cause);
      }
      log.warn({ queue, cause }, 'replaced an empty queue declared with other arguments (a classic queue from an earlier version) by a quorum queue');
      await attempt((ch) => ch.assertQueue(queue, options));
    }
  };
  await declare(names.deadLetterQueue, deadLetterQueueOptions);
  await declare(names.queue, consumerQueueOptions(names.deadLetterQueue));
}
