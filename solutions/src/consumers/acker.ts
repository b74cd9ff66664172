// Acks a channel's messages in as few frames as it can. A batch of the stats consumer settles
// ten messages at once; ten basic.ack frames cost ten socket writes here and, on a quorum
// queue, ten commands RabbitMQ appends to its log. One basic.ack with `multiple` acks every
// message of the channel up to its delivery tag, so it may only be sent once every message
// before it is settled too: a message still being applied, held through an outage or waiting
// for its retry must stay unacked. Those past such a message are acked one by one.
import type { Channel, Message } from 'amqplib';

export interface Acker {
  /** A message was delivered on this channel (in delivery order). */
  delivered(msg: Message): void;
  /** The message is done: acked with the next flush, a moment later, in the same frame as its neighbours'. */
  ack(msg: Message): void;
  /** The message was settled some other way (nacked): it no longer holds back the ones after it. */
  forget(msg: Message): void;
  /** Sends the acks now (before the channel closes). */
  flush(): void;
}

export function createAcker(ch: Pick<Channel, 'ack'>): Acker {
  // Delivery tags delivered and not yet acked or forgotten; a Set keeps their delivery order.
  const outstanding = new Set<number>();
  let done = new Set<number>();
  let scheduled: NodeJS.Immediate | undefined;

  function flush(): void {
    clearImmediate(scheduled);
    scheduled = undefined;
    if (done.size === 0) return;
    const ready = done;
    done = new Set();
    let upTo: number | undefined;
    for (const tag of outstanding) {
      if (!ready.has(tag)) break;
      upTo = tag;
    }
    for (const tag of ready) outstanding.delete(tag);
    try {
      if (upTo !== undefined) ch.ack(tagged(upTo), true);
      for (const tag of ready) if (upTo === undefined || tag > upTo) ch.ack(tagged(tag), false);
    } catch {
      // The channel closed meanwhile: RabbitMQ puts its unacked messages back in the queue,
      // and the consumer's next channel gets them again (duplicates, which it recognises).
    }
  }

  return {
    delivered: (msg) => void outstanding.add(msg.fields.deliveryTag),
    ack(msg) {
      done.add(msg.fields.deliveryTag);
      // Every message of a batch reaches here in the same turn of the event loop; the flush
      // comes after them all.
      scheduled ??= setImmediate(flush);
    },
    forget: (msg) => void outstanding.delete(msg.fields.deliveryTag),
    flush,
  };
}

/** amqplib's ack reads only the delivery tag of the message it is given. */
const tagged = (deliveryTag: number) => ({ fields: { deliveryTag } }) as Message;
