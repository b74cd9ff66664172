import type { Config } from '#shared/config.ts';
import { AUCTION_CLOSED } from '#shared/events/auction-closed.ts';
import type { AuctionEvent } from '#shared/events/decode.ts';
import type { ConsumerName } from '#shared/queues.ts';
import type { Redis } from '#shared/redis.ts';
import { itemKey, type ItemLiveFields } from './item-live.ts';
import { setIfNewer } from './set-if-newer.ts';

export const READ_MODEL_CONSUMER = 'read-model' satisfies ConsumerName;

/** Moves the item's live state to what the event says, unless the read model is already past it. */
export async function applyToReadModel(deps: { redis: Redis; config: Pick<Config, 'redis'> }, _messageId: string, message: AuctionEvent): Promise<'applied' | 'duplicate'> {
  let itemId: string, version: bigint, fields: ItemLiveFields;
  if (message.type === AUCTION_CLOSED) {
    const e = message.event;
    ({ itemId, sequence: version } = e);
    fields = { status: 'closed', price_cents: e.winnerId ? e.finalPriceCents.toString() : '', leader_id: e.winnerId ?? '', bid_count: e.bidCount.toString() };
  } else {
    const e = message.event;
    ({ itemId, sequence: version } = e);
    // While the auction is open only bids move the sequence: the n-th bid is sequence n.
    fields = { status: 'open', price_cents: e.amountCents.toString(), leader_id: e.userId, bid_count: e.sequence.toString() };
  }
  return (await setIfNewer(deps.redis, itemKey(deps.config, itemId), version, fields)) ? 'applied' : 'duplicate';
}
