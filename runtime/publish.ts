import type { Amqp } from './amqp.ts';

/**
 * Publishes one persistent message and waits for the broker's confirm, on a channel of its
 * own. Slow (a channel per message) and only used by the naive dual write and by benchmarks
 * as a baseline; the outbox relay keeps one confirm channel and batches.
 */
export async function publishConfirmed(
  amqp: Amqp,
  exchange: string,
  event: { id: string; eventType: string; routingKey: string; payload: Uint8Array; headers: Record<string, string> },
): Promise<void> {
  const channel = await amqp.createConfirmChannel();
  try {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        exchange,
        event.routingKey,
        Buffer.from(event.payload),
        { persistent: true, messageId: event.id, type: event.eventType, contentType: 'application/x-protobuf', headers: event.headers },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  } finally {
    await channel.close().catch(() => undefined);
  }
}
