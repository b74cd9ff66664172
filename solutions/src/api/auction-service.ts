import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { type AuctionService, BidSchema, ItemLiveSchema, ItemSchema, ItemStatus } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { AppDeps } from '../app-deps.ts';
import type { Bid } from '../bidding/bid.ts';
import type { BidCall } from '../bidding/bid-transaction.ts';
import { placeBid } from '../bidding/place-bid.ts';
import { createItem } from '../items/create-item.ts';
import { getItem } from '../items/get-item.ts';
import type { Item } from '../items/item.ts';
import { listItems } from '../items/list-items.ts';
import type { ItemLive } from '../read-model/item-live.ts';
import { readItemLive } from '../read-model/read-item-live.ts';
import { signIn } from '../auth/sign-in.ts';
import { signedInCaller } from './authenticate.ts';
import { errorToConnect } from './errors-to-connect.ts';
import type { WatchHub } from './watch-hub.ts';
import { watchItem } from './watch-item.ts';
import { coerceError } from '#runtime/coerce-error.ts';
import { errorFields } from '#runtime/logger.ts';
import { logEvent } from '#runtime/process-events.ts';

const item = (i: Item) =>
  create(ItemSchema, {
    id: i.id,
    title: i.title,
    description: i.description,
    startPriceCents: i.startPriceCents,
    startAt: timestampFromDate(i.startAt),
    endAt: timestampFromDate(i.endAt),
    createdAt: timestampFromDate(i.createdAt),
  });

const itemLive = (l: ItemLive) =>
  create(ItemLiveSchema, {
    itemId: l.itemId,
    status: l.status === 'closed' ? ItemStatus.CLOSED : ItemStatus.OPEN,
    bidCount: l.bidCount,
    version: l.version,
    ...(l.priceCents === undefined ? {} : { priceCents: l.priceCents }),
    ...(l.leaderId === undefined ? {} : { leaderId: l.leaderId }),
  });

const bid = (b: Bid) =>
  create(BidSchema, {
    id: b.id,
    itemId: b.itemId,
    userId: b.userId,
    amountCents: b.amountCents,
    sequence: b.sequence,
    placedAt: timestampFromDate(b.placedAt),
  });

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : undefined);

/**
 * The caller's deadline as the moment the bid must have committed by: a bid the client has
 * stopped waiting for must neither keep the item's lock nor commit.
 */
function deadlineOf(ctx: HandlerContext): BidCall {
  const left = ctx.timeoutMs();
  return left === undefined ? {} : { deadline: performance.now() + left };
}

/** errorToConnect, or, while it is a stub, its TODO as `unimplemented` (Connect would say only "internal error"). */
export function toConnect(err: unknown): ConnectError {
  try {
    return errorToConnect(err);
  } catch (todo) {
    return new ConnectError(coerceError(todo).message, Code.Unimplemented);
  }
}

/** Each RPC: proto in, the app's own functions, proto out; every error through errorToConnect. */
export function auctionService(deps: AppDeps & { hub: WatchHub }): ServiceImpl<typeof AuctionService> {
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const connectError = toConnect(err);
      if (connectError.code === Code.Internal) logEvent(deps.log, 'error', { event: 'rpc-failed', ...errorFields(err) }, 'rpc failed');
      throw connectError;
    }
  };
  return {
    // #region m6: the four unary RPCs, on the functions of milestones 1-4; the bidder is the signed-in caller
    // The seller must be signed in (the interceptor refuses the call otherwise); items have no
    // seller column yet, so the seller is checked, not stored.
    createItem: (req, ctx) =>
      guard(async () => {
        signedInCaller(ctx);
        // Proto3 has no "absent" for a string or an int64: an empty title or a zero price reaches the validation as such.
        return {
          item: item(
            await createItem(deps, {
              title: req.title,
              description: req.description,
              startPriceCents: req.startPriceCents.toString(),
              startAt: iso(req.startAt),
              endAt: iso(req.endAt) ?? '',
            }),
          ),
        };
      }),
    getItem: (req) => guard(async () => ({ item: item(await getItem(deps, req.id)), live: itemLive(await readItemLive(deps, req.id)) })),
    listItems: (req) =>
      guard(async () => {
        const page = await listItems(deps, { limit: req.limit === 0 ? undefined : req.limit, after: req.after === '' ? undefined : req.after });
        return { items: page.items.map(item), nextAfter: page.nextAfter ?? '' };
      }),
    placeBid: (req, ctx) =>
      guard(async () => ({
        bid: bid(
          await placeBid(
            deps,
            // The bidder is the token's subject, never a field of the request: request ids are
            // then scoped to the signed-in bidder (milestone 3's lookup is by bidder and id).
            {
              itemId: req.itemId,
              userId: signedInCaller(ctx).id,
              amountCents: req.amountCents.toString(),
              ...(req.requestId ? { requestId: req.requestId } : {}),
            },
            deadlineOf(ctx),
          ),
        ),
      })),
    // #stub
    // createItem: () => Promise.reject(new TodoError('m6', 'createItem in api/auction-service.ts')),
    // getItem: () => Promise.reject(new TodoError('m6', 'getItem in api/auction-service.ts')),
    // listItems: () => Promise.reject(new TodoError('m6', 'listItems in api/auction-service.ts')),
    // placeBid: () => Promise.reject(new TodoError('m6', 'placeBid in api/auction-service.ts')),
    // #endregion
    // Development only: configuration turns it on (AUTH_DEV_SIGN_IN); elsewhere permission_denied.
    signIn: (req) =>
      guard(async () => {
        const issued = await signIn(deps.config.auth, req.userName);
        return { token: issued.token, expiresAt: timestampFromDate(issued.expiresAt), bidderId: issued.bidderId };
      }),
    async *watchItem(req, ctx) {
      try {
        for await (const live of watchItem(deps, req.itemId, ctx.signal)) yield { live: itemLive(live) };
      } catch (err) {
        throw toConnect(err);
      }
    },
  };
}
