import type { Config } from '#shared/config.ts';

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
  source: 'redis' | 'postgres';
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
