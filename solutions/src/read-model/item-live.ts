import type { Config } from '#runtime/config.ts';
import { AUCTION_CLOSED } from '#runtime/events/auction-closed.ts';
import type { AuctionEvent } from '#runtime/events/decode.ts';

/** An item's live state, as the read model keeps it: what a bidder's screen shows. */
export interface ItemLive {
  itemId: string;
  status: 'open' | 'closed';
  /** The highest bid (the final price once closed), minor units; undefined before any bid. */
  priceCents: bigint | undefined;
  /** The highest bidder (the winner once closed). */
  leaderId: string | undefined;
  bidCount: bigint;
  /** The item's sequence number this state reflects: every bid and the close move it by one. */
  version: bigint;
  /** Where it was read from: PostgreSQL when Redis is down or has not seen the item yet. */
  source: 'redis' | 'postgres' | 'event';
}

/** The fields of an ItemLive as they are stored in the item's Redis hash (version aside). */
export type ItemLiveFields = Record<'status' | 'price_cents' | 'leader_id' | 'bid_count', string>;

export const itemKey = (config: Pick<Config, 'redis'>, itemId: string) => `${config.redis.keyPrefix}item:${itemId}`;

export function itemLiveToJson(item: ItemLive) {
  return {
    itemId: item.itemId,
    status: item.status,
    priceCents: item.priceCents?.toString() ?? null,
    leaderId: item.leaderId ?? null,
    bidCount: item.bidCount.toString(),
    version: item.version.toString(),
    source: item.source,
  };
}

/**
 * The item's live state an event says it has now, and its version (the item's sequence): what
 * the read model stores and what WatchItem streams (milestone 6) send.
 */
export function liveChangeOf(message: AuctionEvent): { itemId: string; version: bigint; fields: ItemLiveFields } {
  if (message.type === AUCTION_CLOSED) {
    const e = message.event;
    return {
      itemId: e.itemId,
      version: e.sequence,
      fields: { status: 'closed', price_cents: e.winnerId ? e.finalPriceCents.toString() : '', leader_id: e.winnerId ?? '', bid_count: e.bidCount.toString() },
    };
  }
  const e = message.event;
  // While the auction is open only bids move the sequence: the n-th bid is sequence n.
  return {
    itemId: e.itemId,
    version: e.sequence,
    fields: { status: 'open', price_cents: e.amountCents.toString(), leader_id: e.userId, bid_count: e.sequence.toString() },
  };
}

/** An ItemLive from the fields the read model stores. */
export function itemLiveFromFields(itemId: string, version: bigint, fields: ItemLiveFields, source: ItemLive['source']): ItemLive {
  return {
    itemId,
    status: fields.status === 'closed' ? 'closed' : 'open',
    priceCents: fields.price_cents ? BigInt(fields.price_cents) : undefined,
    leaderId: fields.leader_id || undefined,
    bidCount: BigInt(fields.bid_count || '0'),
    version,
    source,
  };
}
