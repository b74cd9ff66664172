// The plumbing every consumer of the bid-worker shares: its queue and dead-letter queue, a
// bounded prefetch, ack after the handler resolved, holding its messages while what it writes
// to is down, and starting again after RabbitMQ comes back. What happens to each message is
// handleDelivery's decision.
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { openWhenConnected, type Amqp } from '#runtime/amqp.ts';
import type { Config } from '#runtime/config.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';
import { failpoint } from '#runtime/failpoints.ts';
import { correlationIdOf, errorFields, withCorrelationId, type Logger } from '#runtime/logger.ts';
import { logEvent } from '#runtime/process-events.ts';
import type { Metrics } from '#runtime/metrics.ts';
import { queueNames, type ConsumerName } from '#runtime/queues.ts';
import { declareConsumerQueues } from './consumer-queues.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { ATTEMPT_HEADER, DEAD_LETTER_REASON_HEADER, DELIVERY_COUNT_HEADER, ORIGINAL_ROUTING_KEY_HEADER, type Delivery, type Outcome } from './delivery.ts';
import { createAcker, type Acker } from './acker.ts';
import { createDependencyGate } from './dependency-gate.ts';
import { handleDelivery } from './handle-delivery.ts';
import { coerceError } from '#runtime/coerce-error.ts';

export interface ConsumerSpec {
  /** Names the queue (<prefix><name>), its dead-letter queue (<prefix><name>.dead), metrics and failpoints. */
  name: ConsumerName;
  /** Routing keys bound to the events exchange. */
  bindings: string[];
  apply: (messageId: string, message: AuctionEvent) => Promise<'applied' | 'duplicate'>;
  /** What `apply` writes to, for the logs ("PostgreSQL"), and a cheap call that succeeds once it answers again. */
  dependency: { name: string; probe: () => Promise<unknown> };
}

export interface Consumer {
  readonly queue: string;
  readonly deadLetterQueue: string;
  /**
   * Resolves once the queue is declared and bound, the first time (at start, or when RabbitMQ
   * is back if it was down): from then on the broker keeps every event for this consumer.
   */
  readonly bound: Promise<void>;
  /** Set when the consumer stopped because its code is not written yet (a TodoError). */
  readonly failure: Error | undefined;
  /** Stops taking messages and waits for the ones in hand to be settled. */
  stop(): Promise<void>;
}

export interface ConsumerDeps {
  amqp: Amqp;
  log: Logger;
  metrics: Metrics;
  config: Pick<Config, 'amqp' | 'consumer'>;
}

export async function startConsumer(deps: ConsumerDeps, spec: ConsumerSpec): Promise<Consumer> {
  const { queue, deadLetterQueue } = queueNames(deps.config, spec.name);
  const log = deps.log.child({ consumer: spec.name });
  const inHand = new Set<Promise<void>>();
  let channel: ConfirmChannel | undefined;
  let acker: Acker | undefined;
  let consumerTag: string | undefined;
  let failure: Error | undefined;
  let stopping = false;
  let lagTimer: NodeJS.Timeout | undefined;
  let markBound: () => void = () => undefined;
  const bound = new Promise<void>((resolve) => (markBound = resolve));
  const gate = createDependencyGate({ dependency: spec.dependency.name, probe: spec.dependency.probe, log, maxDelayMs: 5_000 });

  async function settle(ch: ConfirmChannel, acks: Acker, msg: ConsumeMessage): Promise<void> {
    const started = performance.now();
    const delivery: Delivery = {
      messageId: msg.properties.messageId as string | undefined,
      type: msg.properties.type as string | undefined,
      content: msg.content,
      routingKey: msg.fields.routingKey,
      attempt: Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 1) || 1,
    };
    let outcome: Outcome;
    for (;;) {
      // Held, not acked, while the dependency is down: a full prefetch makes RabbitMQ send no
      // more. Stopped meanwhile: left unacked, the channel's close puts it back in the queue.
      if ((await gate.passed()) === 'stopped') return;
      try {
        outcome = await handleDelivery(delivery, spec.apply, deps.config.consumer);
      } catch (err) {
        if (err instanceof TodoError) {
          // Unfinished exercise code: leave the message queued and stop, saying why, once.
          log.info({ todo: err.message }, `the ${spec.name} consumer is not written yet; it stops and leaves its messages queued`);
          ch.nack(msg, false, true);
          acks.forget(msg);
          failure = err;
          stopping = true;
          void ch.close().catch(() => undefined);
          return;
        }
        outcome = { kind: 'retry', reason: coerceError(err).message, delayMs: deps.config.consumer.retryDelayMs };
      }
      if (outcome.kind !== 'wait') break;
      gate.down(outcome.reason);
    }
    // The lesson's question: the effect committed, the ack not sent yet.
    await failpoint(`${spec.name}.before-ack`);
    if (outcome.kind === 'dead-letter') {
      log.warn({ messageId: delivery.messageId, type: delivery.type, reason: outcome.reason }, 'message dead-lettered');
      await republish(ch, deadLetterQueue, msg, { [DEAD_LETTER_REASON_HEADER]: outcome.reason });
    } else if (outcome.kind === 'retry') {
      logEvent(
        log,
        'warn',
        { event: 'message-retried', messageId: delivery.messageId, attempt: delivery.attempt, reason: outcome.reason, retryInMs: outcome.delayMs },
        'message failed; trying again',
      );
      await new Promise((r) => setTimeout(r, outcome.delayMs));
      // The attempt count travels with the message: a copy goes to the back of the queue
      // before the original is acked (a crash in between makes a duplicate, never a loss).
      await republish(ch, queue, msg, { [ATTEMPT_HEADER]: delivery.attempt + 1 });
    }
    acks.ack(msg);
    logEvent(log, 'debug', { event: 'message-handled', messageId: delivery.messageId, outcome: outcome.kind }, 'message handled');
    deps.metrics.consumer.messages.inc({
      consumer: spec.name,
      outcome: outcome.kind === 'dead-letter' ? 'dead_lettered' : outcome.kind === 'retry' ? 'retried' : outcome.kind,
    });
    deps.metrics.consumer.processing.observe({ consumer: spec.name }, (performance.now() - started) / 1000);
  }

  async function republish(ch: ConfirmChannel, to: string, msg: ConsumeMessage, headers: Record<string, unknown>): Promise<void> {
    // x-delivery-count is the broker's count for the original; the copy is a new message.
    const { [DELIVERY_COUNT_HEADER]: _deliveries, ...kept } = msg.properties.headers ?? {};
    ch.sendToQueue(to, msg.content, {
      ...msg.properties,
      persistent: true,
      headers: { ...kept, [ORIGINAL_ROUTING_KEY_HEADER]: msg.fields.routingKey, ...headers },
    });
    await ch.waitForConfirms();
  }

  async function open(): Promise<void> {
    const ch = await deps.amqp.createConfirmChannel();
    const acks = createAcker(ch);
    ch.on('error', (err: Error) => log.warn(errorFields(err), 'consumer channel error'));
    ch.on('close', () => {
      channel = undefined;
      if (!stopping) void reopen();
    });
    await ch.assertExchange(deps.config.amqp.exchange, 'topic', { durable: true });
    await declareConsumerQueues(deps.amqp, { queue, deadLetterQueue }, log);
    // A slow start (the tests stall it here): until the binding exists, the broker drops events.
    await failpoint(`${spec.name}.before-bind`);
    for (const key of spec.bindings) await ch.bindQueue(queue, deps.config.amqp.exchange, key);
    markBound();
    // At most this many unacked messages in hand: memory and redelivery after a crash stay bounded.
    await ch.prefetch(deps.config.consumer.prefetch);
    ({ consumerTag } = await ch.consume(queue, (msg) => {
      if (!msg) return; // the queue was deleted: the channel closes and reopen() says so
      acks.delivered(msg);
      // The trace goes on: every line about this message carries the correlation id of the
      // request that caused it (the relay copied it from the outbox row to the headers).
      const correlationId = correlationIdOf(msg.properties.headers);
      const handle = () =>
        settle(ch, acks, msg).catch((err: Error) =>
          log.warn({ ...errorFields(err), messageId: msg.properties.messageId as unknown }, 'settling a message failed; RabbitMQ redelivers it'),
        );
      const settling = correlationId ? withCorrelationId(correlationId, handle) : handle();
      inHand.add(settling);
      void settling.finally(() => inHand.delete(settling));
    }));
    channel = ch;
    acker = acks;
    logEvent(log, 'info', { event: 'consuming', queue, prefetch: deps.config.consumer.prefetch }, 'consuming');
  }

  const reopen = () => openWhenConnected(deps.amqp, open, { stopped: () => stopping, log, what: 'consumer' });

  async function sampleLag(): Promise<void> {
    const ch = channel;
    if (!ch) return;
    const { messageCount } = await ch.checkQueue(queue);
    deps.metrics.consumer.queueDepth.set({ consumer: spec.name }, messageCount);
  }

  // RabbitMQ down at start: the worker starts anyway and the consumer begins once it is back.
  await open().catch((err: Error) => {
    log.warn(errorFields(err), 'consumer cannot start yet; trying again in the background');
    void reopen();
  });
  lagTimer = setInterval(() => void sampleLag().catch(() => undefined), 5_000);
  lagTimer.unref();
  return {
    queue,
    deadLetterQueue,
    bound,
    get failure() {
      return failure;
    },
    async stop() {
      stopping = true;
      clearInterval(lagTimer);
      gate.stop();
      // No new deliveries; the ones in hand are settled (acked) before the channel closes.
      if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
      await Promise.allSettled(inHand);
      acker?.flush();
      await channel?.close().catch(() => undefined);
    },
  };
}
