import { TodoError } from '#runtime/todo-error.ts';
import type { ItemLive } from '../read-model/item-live.ts';

/** What a feed hands its stream: a new state, or "read the current state again" (updates may have been missed). */
export type FeedUpdate = { kind: 'state'; live: ItemLive } | { kind: 'resync' };

/**
 * The updates of one WatchItem stream, between the hub that receives events and the stream
 * that writes them to one client. A client that reads slower than updates come must not make
 * the server hold an ever longer queue: at most `limit` updates wait, and the oldest give way.
 * Nothing is lost by dropping one: every update is the item's whole state, and versions tell
 * the client it skipped some.
 */
export class WatchFeed {
  readonly #limit: number;
  readonly #queue: FeedUpdate[] = [];
  #wake: (() => void) | undefined;
  #ended: Error | undefined;
  /** Updates dropped because the client was too slow. */
  dropped = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Called by the hub for every change of the item. Never blocks and never grows past the limit. */
  offer(update: FeedUpdate): void {
    if (this.#ended) return;
    // #region m6: queue the update; when the queue is full, drop the oldest
    if (this.#queue.length >= this.#limit) {
      this.#queue.shift();
      this.dropped++;
    }
    this.#queue.push(update);
    // #stub
    // throw new TodoError('m6', 'queue an update, within the limit, in api/watch-feed.ts');
    // #endregion
    this.#wake?.();
  }

  /** Ends the stream: its reader gets `reason` thrown once the queue is empty. */
  end(reason: Error): void {
    this.#ended ??= reason;
    this.#wake?.();
  }

  /** The updates in order, until the feed ends (throws its reason) or `signal` aborts (returns). */
  async *updates(signal: AbortSignal): AsyncGenerator<FeedUpdate> {
    const aborted = () => this.#wake?.();
    signal.addEventListener('abort', aborted);
    try {
      for (;;) {
        if (signal.aborted) return;
        const next = this.#queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.#ended) throw this.#ended;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', aborted);
    }
  }
}
