// npm run dlq: listing changes nothing; replaying moves exactly the chosen message back to its
// consumer's queue, with fresh attempts and its correlation id.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters, replayDeadLetters, dlqCommand } from '#workbook/commands/dlq.ts';
import { queueNames } from '#runtime/queues.ts';
import { useTestEnv } from '#testkit/harness.ts';

const env = useTestEnv();
let connection: amqp.ChannelModel;
let channel: amqp.ConfirmChannel;
let names: { queue: string; deadLetterQueue: string };
const depth = async (queue: string) => (await channel.checkQueue(queue)).messageCount;

beforeAll(async () => {
  names = queueNames(env.config, 'user-stats');
  connection = await amqp.connect(env.config.amqpUrl);
  channel = await connection.createConfirmChannel();
  await channel.assertQueue(names.queue, { durable: true });
  await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  // What the consumer sets aside (its reason, its attempts), and what the queue sets aside itself (x-death).
  channel.sendToQueue(names.deadLetterQueue, Buffer.from('poison'), {
    persistent: true,
    messageId: 'm-poison',
    type: 'auction.events.v1.BidPlaced',
    headers: { 'x-dead-letter-reason': 'not a valid auction.events.v1.BidPlaced: bad', 'x-attempt': 3, 'x-correlation-id': 'c-1' },
  });
  channel.sendToQueue(names.deadLetterQueue, Buffer.from('crasher'), {
    persistent: true,
    messageId: 'm-crasher',
    type: 'auction.events.v1.AuctionClosed',
    headers: { 'x-death': [{ reason: 'delivery_limit', queue: names.queue, count: 1 }] },
  });
  await channel.waitForConfirms();
});
afterAll(async () => {
  await connection?.close().catch(() => undefined);
});

describe('npm run dlq', () => {
  it('lists every dead letter with its reason and leaves them where they are', async () => {
    const found = await listDeadLetters(env.config);
    expect(found.map((d) => [d.consumer, d.messageId, d.correlationId, d.reason])).toEqual([
      ['user-stats', 'm-poison', 'c-1', 'not a valid auction.events.v1.BidPlaced: bad'],
      ['user-stats', 'm-crasher', undefined, expect.stringMatching(/^delivered more often than the queue's delivery limit/)],
    ]);
    expect(await depth(names.deadLetterQueue), 'dead letters still queued after listing').toBe(2);
  });

  it('replays one message by id into its consumer’s queue, with fresh attempts and its correlation id; the other stays', async () => {
    const replayed = await replayDeadLetters(env.config, { id: 'm-poison' });
    expect(replayed.map((d) => d.messageId)).toEqual(['m-poison']);
    expect({ queue: await depth(names.queue), dead: await depth(names.deadLetterQueue) }).toEqual({ queue: 1, dead: 1 });
    const back = await channel.get(names.queue, { noAck: true });
    expect(back && [back.content.toString(), back.properties.messageId, back.properties.headers]).toEqual([
      'poison',
      'm-poison',
      { 'x-correlation-id': 'c-1' },
    ]);
  });

  it('says which ids exist when the id given is unknown, and replays nothing', async () => {
    await expect(dlqCommand(['replay', '--id', 'm-unknown'], { config: env.config })).rejects.toMatchObject({
      what: 'No dead-lettered message has the id m-unknown.',
      next: 'npm run dlq -- list (shows the ids)',
    });
    expect(await depth(names.deadLetterQueue)).toBe(1);
  });
});
