import { ValidationError } from '../errors.ts';
import { parseCents, parseItemId, type Parsed } from '../items/parse-new-item.ts';

export interface Bid {
  id: string;
  itemId: string;
  userId: string;
  /** Minor units. */
  amountCents: bigint;
  /** 1, 2, 3… per item, in commit order. */
  sequence: bigint;
  placedAt: Date;
}

export interface DbBid {
  id: string;
  item_id: string;
  user_id: string;
  amount_cents: bigint;
  sequence: bigint;
  placed_at: Date;
}

export interface NewBid {
  itemId: string;
  userId: string;
  amountCents: bigint;
  /** The client's id for this request: the same bidder sending it again gets the same bid back. */
  requestId?: string;
}

export function bidFromRow(row: DbBid): Bid {
  return { id: row.id, itemId: row.item_id, userId: row.user_id, amountCents: row.amount_cents, sequence: row.sequence, placedAt: row.placed_at };
}

export function bidToJson(bid: Bid) {
  return {
    id: bid.id,
    itemId: bid.itemId,
    userId: bid.userId,
    amountCents: bid.amountCents.toString(),
    sequence: bid.sequence.toString(),
    placedAt: bid.placedAt.toISOString(),
  };
}

/** Checks untrusted input: item and user are UUIDs, the amount is whole positive cents, at most the largest bid. */
export function parseNewBid(input: unknown, rules: { maxBidCents: bigint }): Parsed<NewBid> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { error: new ValidationError('body', 'must be a JSON object') };
  }
  const body = input as Record<string, unknown>;
  const itemId = parseItemId(typeof body.itemId === 'string' ? body.itemId : '');
  if ('error' in itemId) return { error: new ValidationError('itemId', 'must be a UUID') };
  const userId = parseItemId(typeof body.userId === 'string' ? body.userId : '');
  if ('error' in userId) return { error: new ValidationError('userId', 'must be a UUID') };
  const amount = parseCents(body.amountCents, rules.maxBidCents);
  if ('error' in amount) return { error: new ValidationError('amountCents', amount.error) };
  const requestId = body.requestId;
  if (requestId !== undefined && (typeof requestId !== 'string' || !/^[A-Za-z0-9._:-]{1,100}$/.test(requestId))) {
    return { error: new ValidationError('requestId', 'must be 1 to 100 letters, digits or . _ : -') };
  }
  return { value: { itemId: itemId.value, userId: userId.value, amountCents: amount.value, ...(requestId ? { requestId } : {}) } };
}

/** The smallest amount an item accepts now: its start price, or its highest bid plus the increment. */
export function minimumNextBid(item: { start_price_cents: bigint; highest_bid_cents: bigint | null }, minIncrementCents: bigint): bigint {
  return item.highest_bid_cents === null ? item.start_price_cents : item.highest_bid_cents + minIncrementCents;
}
