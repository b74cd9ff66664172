// npm run events: a throwaway consumer that prints every event on the exchange, decoded.
// Its queue is exclusive: it exists while this runs, so it never keeps messages for nobody.
import amqp from 'amqplib';
import { loadConfig } from '../../config.ts';
import { bidPlacedFromProto } from '../../events/bid-placed.ts';
import { dim, say } from '../ui.ts';

export async function eventsCommand(): Promise<number> {
  const config = loadConfig();
  const connection = await amqp.connect(config.amqpUrl);
  const channel = await connection.createChannel();
  await channel.assertExchange(config.amqp.exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, config.amqp.exchange, '#');
  say(dim(`Watching exchange ${config.amqp.exchange} (queue ${queue}). Ctrl-C to stop.`));
  await channel.consume(
    queue,
    (msg) => {
      if (!msg) return;
      let event: unknown;
      try {
        const e = bidPlacedFromProto(msg.content);
        event = { ...e, amountCents: e.amountCents.toString(), sequence: e.sequence.toString(), placedAt: e.placedAt.toISOString() };
      } catch (err) {
        event = `not a BidPlaced: ${(err as Error).message}`;
      }
      say(JSON.stringify({ messageId: msg.properties.messageId, type: msg.properties.type, routingKey: msg.fields.routingKey, redelivered: msg.fields.redelivered, headers: msg.properties.headers, event }));
    },
    { noAck: true },
  );
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await connection.close();
  return 0;
}
