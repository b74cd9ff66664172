// The stats consumer's acker (solutions/src/consumers/acker.ts, provided code), against a real
// RabbitMQ: what it acks with one frame and what it must leave unacked. A message it acked by
// mistake is lost when the consumer dies; one it never acks comes back for ever.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcker } from '#app/consumers/acker.ts';
import { useTestEnv } from '#testkit/harness.ts';

const env = useTestEnv();
let connection: amqp.ChannelModel;
beforeAll(async () => {
  connection = await amqp.connect(env.config.amqpUrl);
});
afterAll(() => connection?.close());

/** Ten messages on a queue of their own, all delivered to one channel and none settled yet. */
async function tenDelivered() {
  const queue = `acker-test-${randomUUID()}`;
  const ch = await connection.createChannel();
  await ch.assertQueue(queue, { autoDelete: false, durable: false });
  for (let i = 1; i <= 10; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
  await ch.prefetch(10);
  const messages: amqp.ConsumeMessage[] = [];
  await new Promise<void>((resolve) => {
    void ch.consume(queue, (msg) => {
      if (msg) messages.push(msg);
      if (messages.length === 10) resolve();
    });
  });
  return { queue, ch, messages };
}

/** What is left in the queue once the channel is gone: every message it had not acked, back in the queue. */
async function leftInQueue(queue: string, ch: amqp.Channel): Promise<string[]> {
  await ch.close();
  const reader = await connection.createChannel();
  const left: string[] = [];
  for (let msg = await reader.get(queue, { noAck: true }); msg; msg = await reader.get(queue, { noAck: true })) left.push(msg.content.toString());
  await reader.deleteQueue(queue);
  await reader.close();
  return left.sort((a, b) => Number(a) - Number(b));
}

describe('the acker', () => {
  it('acks a run of settled messages with one frame, those past an unsettled one each on its own, and leaves the unsettled ones for redelivery', async () => {
    const { queue, ch, messages } = await tenDelivered();
    const frames: Array<[number, boolean]> = [];
    const acker = createAcker({
      ack: (msg, allUpTo) => {
        frames.push([msg.fields.deliveryTag - messages[0]!.fields.deliveryTag + 1, allUpTo ?? false]);
        ch.ack(msg, allUpTo);
      },
    });
    for (const m of messages) acker.delivered(m);
    // Settled in the same turn, out of order: 3, 1, 2 and 5; 4 is still being applied.
    for (const i of [3, 1, 2, 5]) acker.ack(messages[i - 1]!);
    await new Promise((r) => setImmediate(r));
    expect(frames, 'the frames sent: one ack of 1 to 3 (multiple), then 5 alone').toEqual([
      [3, true],
      [5, false],
    ]);
    // 6 is nacked elsewhere (forgotten), then 4, 7 and 8 are done.
    ch.nack(messages[5]!, false, false);
    acker.forget(messages[5]!);
    for (const i of [4, 7, 8]) acker.ack(messages[i - 1]!);
    acker.flush();
    // Every message up to 8 is now settled, 5 and 6 before, so one frame covers 4, 7 and 8:
    // RabbitMQ's multiple ack takes only the unacked deliveries up to the tag.
    expect(frames.slice(2), 'after 4, 7 and 8').toEqual([[8, true]]);
    expect(await leftInQueue(queue, ch), 'back in the queue after the channel closed: only what nobody settled').toEqual(['9', '10']);
  });
});
