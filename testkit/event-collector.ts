// A consumer for tests and chaos scenarios: binds its own exclusive queue to the exchange
// (queues belong to consumers, not to the relay) and records every message it receives.
import amqp from 'amqplib';
import { BID_PLACED_ROUTING_KEY, bidPlacedFromProto, type BidPlaced } from '../runtime/events/bid-placed.ts';
import { loadNote, patient } from './patience.ts';
import { onStub } from './stub-in-the-way.ts';
import { waitingFor } from './waits.ts';

export interface CollectedMessage {
  messageId: string;
  type: string;
  routingKey: string;
  persistent: boolean;
  headers: Record<string, unknown>;
  event: BidPlaced;
}

export interface EventCollector {
  readonly messages: CollectedMessage[];
  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs` (longer on a busy machine: patience.ts) saying what it waited for and how many arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<CollectedMessage[]>;
  close(): Promise<void>;
}

export async function collectEvents(options: { amqpUrl: string; exchange: string; bindingKey?: string }): Promise<EventCollector> {
  const connection = await amqp.connect(options.amqpUrl);
  const channel = await connection.createChannel();
  await channel.assertExchange(options.exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  // It collects BidPlaced events; other event types (AuctionClosed, milestone 4) are not bound.
  await channel.bindQueue(queue, options.exchange, options.bindingKey ?? BID_PLACED_ROUTING_KEY);
  const messages: CollectedMessage[] = [];
  const waiters = new Set<() => void>();
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      messages.push({
        messageId: String(msg.properties.messageId),
        type: String(msg.properties.type),
        routingKey: msg.fields.routingKey,
        persistent: msg.properties.deliveryMode === 2,
        headers: msg.properties.headers ?? {},
        event: bidPlacedFromProto(msg.content),
      });
      for (const wake of waiters) wake();
    },
    { noAck: true },
  );
  return {
    messages,
    waitFor: (count, timeoutMs = 15_000) => {
      const what = `${count} event${count === 1 ? '' : 's'} on exchange ${options.exchange} (binding ${options.bindingKey ?? BID_PLACED_ROUTING_KEY})`;
      const limit = patient(timeoutMs);
      return waitingFor(
        what,
        new Promise<CollectedMessage[]>((resolve, reject) => {
          let stopWatching = () => {};
          let done = false;
          const finish = (fn: () => void) => {
            done = true;
            clearTimeout(timer);
            waiters.delete(check);
            stopWatching();
            fn();
          };
          const check = () => {
            if (messages.length >= count) finish(() => resolve(messages));
          };
          const timer = setTimeout(
            () => finish(() => reject(new Error(`expected ${what} within ${limit} ms, received ${messages.length} (${loadNote()})`))),
            limit,
          );
          waiters.add(check);
          check();
          // A stub in the way (a relay that is not written yet) never delivers: give up now, saying which.
          if (!done) stopWatching = onStub((stub) => finish(() => reject(stub)));
        }),
      );
    },
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
