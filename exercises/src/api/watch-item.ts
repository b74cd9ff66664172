import { Code, ConnectError } from '@connectrpc/connect';
import type { Db } from '#runtime/db.ts';
import { TodoError } from '#runtime/todo-error.ts';
import type { ItemLive } from '../read-model/item-live.ts';
import { readCommittedItemLive } from '../read-model/item-live-from-db.ts';
import type { WatchHub } from './watch-hub.ts';

export interface WatchDeps {
  db: Db;
  hub: WatchHub;
}

/**
 * The item's live state now, then every change, in version order, until the auction closes,
 * `signal` aborts (the
 * client went or its deadline passed) or the hub ends the feed (the server is shutting down:
 * the stream ends with that error, `unavailable`, which tells the client to reconnect).
 */
export async function* watchItem(deps: WatchDeps, itemId: string, signal: AbortSignal): AsyncGenerator<ItemLive> {
  // #region m6: subscribe, then send the current state, then every newer one
  throw new TodoError('m6', 'stream the item in api/watch-item.ts');
  // #endregion
}

/** The error streams end with when the server shuts down. */
export const shuttingDown = () => new ConnectError('the server is shutting down; reconnect to resume from the current state', Code.Unavailable);
