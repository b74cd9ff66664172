// npm run events: a throwaway consumer that prints every event on the exchange, decoded.
// Its queue is exclusive: it exists while this runs, so it never keeps messages for nobody.
import amqp from 'amqplib';
import { loadConfig } from '../../runtime/config.ts';
import { decodeEvent } from '../../runtime/events/decode.ts';
import { dim, say } from '../ui.ts';
import { coerceError } from '../../runtime/coerce-error.ts';

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
        // bigints as strings, dates as ISO text: JSON.stringify knows neither.
        event = JSON.parse(JSON.stringify(decodeEvent(msg.properties.type, msg.content).event, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      } catch (err) {
        event = `cannot decode: ${coerceError(err).message}`;
      }
      say(
        JSON.stringify({
          messageId: msg.properties.messageId,
          type: msg.properties.type,
          routingKey: msg.fields.routingKey,
          redelivered: msg.fields.redelivered,
          headers: msg.properties.headers,
          event,
        }),
      );
    },
    { noAck: true },
  );
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  await connection.close();
  return 0;
}
