// The queues the bid-worker's consumers own, named from the instance's prefix, so that a test
// file's harness (or a chaos scenario) can delete exactly the queues its instance declared.
import type { Config } from './config.ts';

export const CONSUMERS = ['user-stats', 'read-model'] as const;
export type ConsumerName = (typeof CONSUMERS)[number];

/** The consumer's queue and its dead-letter queue. */
export function queueNames(config: Pick<Config, 'amqp'>, name: string) {
  return { queue: `${config.amqp.queuePrefix}${name}`, deadLetterQueue: `${config.amqp.queuePrefix}${name}.dead` };
}
