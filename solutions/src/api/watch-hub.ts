// The live changes of every item, from the events milestone 4's consumers get (not from
// polling the database): each bid-service process binds its own exclusive, auto-deleted queue
// to the exchange and hands every BidPlaced and AuctionClosed to the streams watching its item.
import type { Channel, ConsumeMessage } from 'amqplib';
import { Code, ConnectError } from '@connectrpc/connect';
import { openWhenConnected, type Amqp } from '#runtime/amqp.ts';
import type { Config } from '#runtime/config.ts';
import { AUCTION_CLOSED_ROUTING_KEY } from '#runtime/events/auction-closed.ts';
import { BID_PLACED_ROUTING_KEY } from '#runtime/events/bid-placed.ts';
import { decodeEvent } from '#runtime/events/decode.ts';
import { errorFields, type Logger } from '#runtime/logger.ts';
import { itemLiveFromFields, liveChangeOf } from '../read-model/item-live.ts';
import { WatchFeed } from './watch-feed.ts';

export interface WatchHub {
  /**
   * A feed of the item's changes from now on; close it when the stream ends. Throws
   * `resource_exhausted` when the process already holds `api.maxWatchStreams` streams.
   */
  subscribe(itemId: string): { feed: WatchFeed; close: () => void };
  /** Open streams. */
  readonly watchers: number;
  /** Ends every feed with `reason` (the server is shutting down) and stops consuming. */
  close(reason: Error): Promise<void>;
}

export async function startWatchHub(deps: { amqp: Amqp; config: Pick<Config, 'amqp' | 'api'>; log: Logger }): Promise<WatchHub> {
  const feeds = new Map<string, Set<WatchFeed>>();
  let channel: Channel | undefined;
  let closing = false;
  let watchers = 0;

  const deliver = (msg: ConsumeMessage) => {
    let change;
    try {
      change = liveChangeOf(decodeEvent(msg.properties.type as string | undefined, msg.content));
    } catch (err) {
      deps.log.warn({ ...errorFields(err), messageId: msg.properties.messageId }, 'watch: an event it cannot read; skipped');
      return;
    }
    const live = itemLiveFromFields(change.itemId, change.version, change.fields, 'event');
    for (const feed of feeds.get(change.itemId) ?? []) feed.offer({ kind: 'state', live });
  };

  const open = async () => {
    const ch = await deps.amqp.createChannel();
    ch.on('error', (err: Error) => deps.log.warn(errorFields(err), 'watch channel error'));
    ch.on('close', () => {
      channel = undefined;
      if (closing) return;
      // Changes published while no queue was bound are missed: every stream reads its state again.
      for (const set of feeds.values()) for (const feed of set) feed.offer({ kind: 'resync' });
      void reopen();
    });
    await ch.assertExchange(deps.config.amqp.exchange, 'topic', { durable: true });
    // One queue per process, gone with its connection: live updates are not worth keeping for a process that left.
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    for (const key of [BID_PLACED_ROUTING_KEY, AUCTION_CLOSED_ROUTING_KEY]) await ch.bindQueue(queue, deps.config.amqp.exchange, key);
    await ch.consume(queue, (msg) => msg && deliver(msg), { noAck: true });
    channel = ch;
    for (const set of feeds.values()) for (const feed of set) feed.offer({ kind: 'resync' });
  };

  const reopen = () => openWhenConnected(deps.amqp, open, { stopped: () => closing, log: deps.log, what: 'the watch hub' });

  // The service starts while RabbitMQ is down (not ready); the hub keeps trying in the background.
  await open().catch(() => void reopen());

  return {
    subscribe(itemId) {
      // Each stream holds a buffer and a call: the cap bounds the memory one process can be made to hold.
      if (watchers >= deps.config.api.maxWatchStreams) {
        throw new ConnectError(
          `this server already holds ${deps.config.api.maxWatchStreams} WatchItem streams, its limit (API_MAX_WATCH_STREAMS); retry later or on another instance`,
          Code.ResourceExhausted,
        );
      }
      watchers++;
      const feed = new WatchFeed(deps.config.api.watchBuffer);
      const set = feeds.get(itemId) ?? new Set<WatchFeed>();
      feeds.set(itemId, set.add(feed));
      return {
        feed,
        close: () => {
          if (set.delete(feed)) watchers--;
          if (set.size === 0 && feeds.get(itemId) === set) feeds.delete(itemId);
        },
      };
    },
    get watchers() {
      return watchers;
    },
    async close(reason) {
      closing = true;
      for (const set of feeds.values()) for (const feed of set) feed.end(reason);
      await channel?.close().catch(() => undefined);
    },
  };
}
