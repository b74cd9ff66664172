// npm run dlq -- list | replay [--id <message id>] [--consumer user-stats|read-model]: look at
// what the consumers set aside, and put it back once the cause is fixed.
//
// Listing takes every message without acking it and then closes the channel, so RabbitMQ puts
// them all back: it changes nothing but their delivery count. Replaying sends a message to the
// consumer's own queue (not the exchange: the other consumers applied it already) with fresh
// attempts, and acks it in the dead-letter queue only after the broker confirmed the copy; a
// crash in between leaves a duplicate, which processed_messages makes harmless, never a loss.
import amqp, { type Channel, type GetMessage } from 'amqplib';
import { loadConfig, type Config } from '../../runtime/config.ts';
import { ATTEMPT_HEADER, CONSUMERS, DEAD_LETTER_REASON_HEADER, DELIVERY_COUNT_HEADER, queueNames, type ConsumerName } from '../../runtime/queues.ts';
import { LearnerError } from '../prepare.ts';
import { bold, dim, say } from '../ui.ts';

export interface DeadLetter {
  consumer: ConsumerName;
  messageId: string | undefined;
  type: string | undefined;
  /** The consumer's reason (x-dead-letter-reason), or the broker's (x-death: delivery_limit, rejected…). */
  reason: string;
  correlationId: string | undefined;
}

type Death = { reason?: string; queue?: string; count?: number };

function reasonOf(msg: GetMessage): string {
  const headers = msg.properties.headers ?? {};
  const own = headers[DEAD_LETTER_REASON_HEADER];
  if (own !== undefined) return String(own);
  const death = (headers['x-death'] as Death[] | undefined)?.[0];
  if (death?.reason === 'delivery_limit')
    return `delivered more often than the queue's delivery limit without an outcome (its consumer crashed or lost its channel each time; dead-lettered by RabbitMQ from ${death.queue})`;
  if (death) return `dead-lettered by RabbitMQ from ${death.queue}: ${death.reason}`;
  return 'no reason recorded';
}

function toDeadLetter(consumer: ConsumerName, msg: GetMessage): DeadLetter {
  const correlationId = msg.properties.headers?.['x-correlation-id'];
  return {
    consumer,
    messageId: msg.properties.messageId as string | undefined,
    type: msg.properties.type as string | undefined,
    reason: reasonOf(msg),
    correlationId: correlationId === undefined ? undefined : String(correlationId),
  };
}

/** Opens a connection for one operation; a missing queue or a broker that is down becomes a LearnerError. */
async function withBroker<T>(config: Pick<Config, 'amqpUrl'>, fn: (connection: amqp.ChannelModel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(config.amqpUrl).catch((err: Error) => {
    throw new LearnerError(`RabbitMQ is not answering at ${config.amqpUrl} (${err.message}), so the dead-letter queues cannot be read.`, 'npm run doctor');
  });
  try {
    return await fn(connection);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Every message of one dead-letter queue, taken unacked; `settle` decides each one's fate before the channel closes and returns the rest. */
async function drain(connection: amqp.ChannelModel, deadLetterQueue: string, settle: (ch: Channel, msg: GetMessage) => Promise<void>): Promise<void> {
  if (!(await queueExists(connection, deadLetterQueue))) return; // nothing declared it yet: nothing was dead-lettered there
  const ch = await connection.createConfirmChannel();
  try {
    // Unacked messages stay with this channel until it closes, so each is seen once.
    for (let msg = await ch.get(deadLetterQueue); msg; msg = await ch.get(deadLetterQueue)) await settle(ch, msg);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** checkQueue closes its channel when the queue is missing, so it gets a channel of its own. */
async function queueExists(connection: amqp.ChannelModel, queue: string): Promise<boolean> {
  const ch = await connection.createChannel();
  ch.on('error', () => undefined);
  const exists = await ch.checkQueue(queue).then(
    () => true,
    () => false,
  );
  await ch.close().catch(() => undefined);
  return exists;
}

export async function listDeadLetters(config: Pick<Config, 'amqpUrl' | 'amqp'>, consumers: readonly ConsumerName[] = CONSUMERS): Promise<DeadLetter[]> {
  return withBroker(config, async (connection) => {
    const found: DeadLetter[] = [];
    for (const consumer of consumers) {
      await drain(connection, queueNames(config, consumer).deadLetterQueue, async (_ch, msg) => void found.push(toDeadLetter(consumer, msg)));
    }
    return found;
  });
}

/** Moves dead letters (all, or those with message id `id`) back to their consumer's queue; returns what it moved. */
export async function replayDeadLetters(
  config: Pick<Config, 'amqpUrl' | 'amqp'>,
  options: { id?: string; consumers?: readonly ConsumerName[] } = {},
): Promise<DeadLetter[]> {
  return withBroker(config, async (connection) => {
    const replayed: DeadLetter[] = [];
    for (const consumer of options.consumers ?? CONSUMERS) {
      const { queue, deadLetterQueue } = queueNames(config, consumer);
      let queueChecked = false;
      await drain(connection, deadLetterQueue, async (ch, msg) => {
        if (options.id !== undefined && msg.properties.messageId !== options.id) return;
        // Sent to a queue that does not exist, a message is dropped and still confirmed.
        if (!queueChecked && !(await queueExists(connection, queue)))
          throw new LearnerError(
            `The ${consumer} consumer's queue ${queue} does not exist, so nothing can be replayed into it (the dead letters stay where they are).`,
            'npm run start:worker (it declares the queues), then npm run dlq -- replay again',
          );
        queueChecked = true;
        // The copy starts afresh: no reason, no attempts spent, no broker history.
        const {
          [DEAD_LETTER_REASON_HEADER]: _reason,
          [ATTEMPT_HEADER]: _attempt,
          [DELIVERY_COUNT_HEADER]: _count,
          'x-death': _death,
          ...headers
        } = msg.properties.headers ?? {};
        ch.sendToQueue(queue, msg.content, { ...msg.properties, persistent: true, headers });
        await (ch as amqp.ConfirmChannel).waitForConfirms();
        ch.ack(msg);
        replayed.push(toDeadLetter(consumer, msg));
      });
    }
    return replayed;
  });
}

const USAGE = 'npm run dlq -- list | replay [--id <message id>] [--consumer user-stats|read-model]';

export async function dlqCommand(argv: string[], options: { config?: Config } = {}): Promise<number> {
  const config = options.config ?? loadConfig();
  const flagValue = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const consumerArg = flagValue('--consumer');
  if (consumerArg !== undefined && !(CONSUMERS as readonly string[]).includes(consumerArg))
    throw new LearnerError(`--consumer must be one of ${CONSUMERS.join(', ')}, got ${JSON.stringify(consumerArg)}.`, USAGE);
  const consumers = consumerArg ? [consumerArg as ConsumerName] : CONSUMERS;
  const line = (d: DeadLetter) =>
    `${bold(d.messageId ?? '(no message id)')} ${d.type ?? '(no type)'} ${dim(`[${d.consumer}${d.correlationId ? `, correlation ${d.correlationId}` : ''}]`)}\n    ${d.reason}`;
  const verb = argv.find((a) => a === 'list' || a === 'replay');
  if (verb === 'list') {
    const found = await listDeadLetters(config, consumers);
    if (found.length === 0) say(`No dead-lettered messages in ${consumers.map((c) => queueNames(config, c).deadLetterQueue).join(', ')}.`);
    else {
      say(`${found.length} dead-lettered message${found.length === 1 ? '' : 's'}:`);
      for (const d of found) say(line(d));
      say(dim('Fix the cause first, then: npm run dlq -- replay [--id <message id>]'));
    }
    return 0;
  }
  if (verb === 'replay') {
    const id = flagValue('--id');
    if (argv.includes('--id') && !id) throw new LearnerError('--id needs the message id to replay.', 'npm run dlq -- list (shows the ids)');
    const replayed = await replayDeadLetters(config, { consumers, ...(id ? { id } : {}) });
    if (id && replayed.length === 0) throw new LearnerError(`No dead-lettered message has the id ${id}.`, 'npm run dlq -- list (shows the ids)');
    say(
      replayed.length === 0
        ? 'Nothing to replay: the dead-letter queues are empty.'
        : `Replayed ${replayed.length} message${replayed.length === 1 ? '' : 's'} to the consumer's queue:`,
    );
    for (const d of replayed) say(line(d));
    return 0;
  }
  throw new LearnerError(`"dlq" needs list or replay${argv.length ? `, got "${argv.join(' ')}"` : ''}.`, USAGE);
}
