import { sendWithCommit, type Db } from '#runtime/db.ts';
import { failpoint } from '#runtime/failpoints.ts';
import type { Metrics } from '#runtime/metrics.ts';
import { currentCorrelationId, newCorrelationId } from '#runtime/logger.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { outboxInsert } from '../outbox/enqueue-event.ts';
import { wakeRelay } from '../outbox/wake-relay.ts';
import { parseNewBid, type Bid } from './bid.ts';
import { bidPlacedEvent } from './bid-placed-event.ts';
import { acceptBid, type BidRules } from './accept-bid.ts';
import { countOutcome } from './bid-outcomes.ts';
import { admitBid } from './item-admission.ts';
import { runBidTransaction, type BidCall, type BidTransactionConfig } from './bid-transaction.ts';

/**
 * Places a bid. The bid and its BidPlaced event commit together, or neither does; the
 * outbox relay publishes the event afterwards, at least once. runBidTransaction and
 * acceptBid hold milestone 3's rules; until then they are milestone 2's plain versions.
 * Bad input throws a ValidationError, an unknown item ItemNotFound; nothing is written then.
 * With `metrics`, the outcome and the lock wait are counted here, whichever transport called.
 */
export async function placeBid(
  deps: { db: Db; config: { bidding: BidRules & BidTransactionConfig }; metrics?: Pick<Metrics, 'bids'> },
  input: unknown,
  call: BidCall = {},
): Promise<Bid> {
  const lockWait = deps.metrics?.bids.lockWait;
  const rules: BidRules = lockWait ? { ...deps.config.bidding, observeLockWait: (seconds) => lockWait.observe(seconds) } : deps.config.bidding;
  return countOutcome(deps.metrics, async () => {
    const parsed = parseNewBid(input, deps.config.bidding);
    if ('error' in parsed) throw parsed.error;
    const correlationId = currentCorrelationId() ?? newCorrelationId();
    const transaction = async (): Promise<Bid> => {
      let placed: Bid;
      // #region m2: write the bid and its BidPlaced event in one transaction, then wake the relay
      placed = await runBidTransaction(
        deps,
        parsed.value.itemId,
        async (tx) => {
          const bid = await acceptBid(tx, parsed.value, rules);
          // Sent with the COMMIT, not awaited on its own: nothing here reads the row back, and
          // every round trip while the item's row is locked is one every other bidder waits
          // for. `await enqueueEvent(tx, …)` is as right, one round trip slower.
          sendWithCommit(tx, outboxInsert(bidPlacedEvent(bid, correlationId)));
          return bid;
        },
        call,
      );
      // After the COMMIT, not in the transaction: a NOTIFY in it would make every bid's commit wait its turn for the server's one notify lock.
      wakeRelay(deps.db);
      // #stub
      // throw new TodoError('m2', 'place the bid and its event in one transaction in bidding/place-bid.ts');
      // #endregion
      return placed;
    };
    // Milestone 3's admission (item-admission.ts): a bid a committed bid already beats is
    // refused without the lock, and at most two transactions per item run at once. Until
    // milestone 3 it only runs the transaction.
    const placed = await admitBid(deps, parsed.value, rules, call, transaction);
    // The power cut the lesson asks about: committed, nothing published yet.
    await failpoint('bid.after-commit');
    return placed;
  });
}
