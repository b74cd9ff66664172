// Gathers the messages a consumer has in hand into one call of `applyBatch` (one transaction):
// a batch goes when it is full or when no other message arrived for `lingerMs`. Each caller
// gets its own message's outcome; if the batch fails, every caller gets the error, and each
// message is then retried or dead-lettered on its own by handleDelivery.
import type { AuctionEvent } from '#runtime/events/decode.ts';

type Outcome = 'applied' | 'duplicate';
interface Waiting {
  messageId: string;
  message: AuctionEvent;
  resolve: (outcome: Outcome) => void;
  reject: (err: unknown) => void;
}

export function createBatcher(
  applyBatch: (batch: Array<{ messageId: string; message: AuctionEvent }>) => Promise<Outcome[]>,
  options: { maxSize: number; lingerMs: number },
) {
  let pending: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    applyBatch(batch.map(({ messageId, message }) => ({ messageId, message }))).then(
      (outcomes) => {
        for (const [i, w] of batch.entries()) w.resolve(outcomes[i]!);
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }

  return (messageId: string, message: AuctionEvent): Promise<Outcome> =>
    new Promise<Outcome>((resolve, reject) => {
      pending.push({ messageId, message, resolve, reject });
      if (pending.length >= options.maxSize) flush();
      else {
        clearTimeout(timer);
        timer = setTimeout(flush, options.lingerMs);
      }
    });
}
