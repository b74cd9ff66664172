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
  // Subscribe before reading: a change committed between the read and the subscription would be missed.
  const { feed, close } = deps.hub.subscribe(itemId);
  try {
    // From PostgreSQL, not the read model: Redis lags the commits by the consumer's backlog, and
    // a first state older than what the bidder just placed would show a price already beaten.
    let last = await readCommittedItemLive(deps.db, itemId);
    yield last;
    // A closed auction never changes again: the stream ends with it.
    if (last.status === 'closed') return;
    for await (const update of feed.updates(signal)) {
      // A state is sent only if newer: duplicates and redeliveries never move it back. A resync
      // (updates were missed while the hub reconnected) reads PostgreSQL again, for the same reason as above.
      const live = update.kind === 'state' ? update.live : await readCommittedItemLive(deps.db, itemId);
      if (live.version <= last.version) continue;
      last = live;
      yield live;
      if (live.status === 'closed') return;
    }
  } finally {
    close();
  }
  // #stub
  // throw new TodoError('m6', 'stream the item in api/watch-item.ts');
  // #endregion
}

/** The error streams end with when the server shuts down. */
export const shuttingDown = () => new ConnectError('the server is shutting down; reconnect to resume from the current state', Code.Unavailable);
