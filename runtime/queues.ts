// The queues the bid-worker's consumers own, named from the instance's prefix, so that a test
// file's harness (or a chaos scenario) can delete exactly the queues its instance declared.
import amqp from 'amqplib';
import type { Config } from './config.ts';

export const CONSUMERS = ['user-stats', 'read-model'] as const;
export type ConsumerName = (typeof CONSUMERS)[number];

/** The consumer's count of a message's own failed attempts, carried on the copy it puts back in the queue (1 on the first delivery). */
export const ATTEMPT_HEADER = 'x-attempt';
/** Why the consumer moved a message to its dead-letter queue, for a person to read. */
export const DEAD_LETTER_REASON_HEADER = 'x-dead-letter-reason';
/** Set by a quorum queue on a redelivery: how often RabbitMQ delivered the message before (crashes, lost channels included). */
export const DELIVERY_COUNT_HEADER = 'x-delivery-count';
/** The routing key the event was published with, kept on the copies the consumer makes. */
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';

/** The consumer's queue and its dead-letter queue. */
export function queueNames(config: Pick<Config, 'amqp'>, name: string) {
  return { queue: `${config.amqp.queuePrefix}${name}`, deadLetterQueue: `${config.amqp.queuePrefix}${name}.dead` };
}

/** An instance's consumer queues, their dead-letter queues and its exchange, if anything declared them (tests and scenarios clean up with it). */
export async function deleteExchangeAndQueues(config: Pick<Config, 'amqpUrl' | 'amqp'>): Promise<void> {
  const connection = await amqp.connect(config.amqpUrl).catch(() => undefined);
  if (!connection) return;
  // A failed delete closes its channel, so each gets its own.
  const attempt = (run: (ch: amqp.Channel) => Promise<unknown>) =>
    connection
      .createChannel()
      .then((ch) => (ch.on('error', () => undefined), run(ch)))
      .catch(() => undefined);
  try {
    for (const queue of CONSUMERS.flatMap((c) => Object.values(queueNames(config, c)))) await attempt((ch) => ch.deleteQueue(queue));
    await attempt((ch) => ch.deleteExchange(config.amqp.exchange));
  } finally {
    await connection.close().catch(() => undefined);
  }
}
