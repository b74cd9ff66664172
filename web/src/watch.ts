// Keeps one item's live state on screen through WatchItem, and keeps the stream alive: when
// it breaks (bid-service restarting, the ingress cut, the laptop's Wi-Fi), it says so and
// reconnects with exponential backoff and jitter, so a thousand pages do not reconnect in
// the same millisecond. The first message of every stream is the item's current state, so
// a reconnect re-reads what changed while the page was away instead of trusting its copy.
import { Code, ConnectError } from '@connectrpc/connect';
import type { ItemLive } from '../../runtime/gen/auction/api/v1/auction_pb.ts';
import type { AuctionClient } from './api.ts';

export type StreamState =
  | { state: 'connecting' }
  | { state: 'live'; reconnected: boolean }
  | { state: 'reconnecting'; attempt: number; retryInMs: number; reason: string }
  | { state: 'gone'; reason: string };

export interface WatchOptions {
  onLive(live: ItemLive): void;
  onState(state: StreamState): void;
  /** First pause after a break; doubled per failed attempt up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** Starts watching; the returned function stops it. */
export function watchItem(client: AuctionClient, itemId: string, options: WatchOptions): () => void {
  const stop = new AbortController();
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 8_000;

  void (async () => {
    let failures = 0;
    let everConnected = false;
    options.onState({ state: 'connecting' });
    while (!stop.signal.aborted) {
      let reason = 'the server ended the stream';
      try {
        let first = true;
        for await (const message of client.watchItem({ itemId }, { signal: stop.signal })) {
          if (first) {
            first = false;
            failures = 0;
            options.onState({ state: 'live', reconnected: everConnected });
            everConnected = true;
          }
          if (message.live) options.onLive(message.live);
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        const error = ConnectError.from(err);
        // Nothing to wait for: the item does not exist. Every other failure is worth a retry.
        if (error.code === Code.NotFound || error.code === Code.InvalidArgument) {
          options.onState({ state: 'gone', reason: error.rawMessage });
          return;
        }
        reason = describeBreak(error);
      }
      if (stop.signal.aborted) return;
      const ceiling = Math.min(max, initial * 2 ** failures);
      // "Full jitter" on the upper half: never sooner than half the ceiling.
      const retryInMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      failures++;
      options.onState({ state: 'reconnecting', attempt: failures, retryInMs, reason });
      await sleep(retryInMs, stop.signal);
    }
  })();

  return () => stop.abort();
}

function describeBreak(error: ConnectError): string {
  switch (error.code) {
    case Code.Unavailable:
      return 'the server is restarting or unreachable';
    case Code.ResourceExhausted:
      return 'the server is watching too many items right now';
    case Code.Unknown:
    case Code.Internal:
      return 'the connection broke';
    default:
      return error.rawMessage;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
