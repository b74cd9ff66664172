import type { Db } from '#runtime/db.ts';
import { BidTooLow, Busy, DeadlineExceeded } from '../errors.ts';
import type { Bid, NewBid } from './bid.ts';
import type { BidRules } from './accept-bid.ts';
import type { BidCall, BidTransactionConfig } from './bid-transaction.ts';
import { ReplayedRequest } from './replayed-request.ts';
import { knowHighest, knownMinimum, refuseIfKnownTooLow, whenRaised } from './known-highest.ts';

/**
 * Bid transactions per item this process lets in at once: one holding the item's row lock and
 * one waiting for it, so the next is ready the moment the lock frees. More would only wait on
 * the same lock, each holding a pooled connection the bids on other items need.
 */
export const IN_FLIGHT_PER_ITEM = 2;
/** Bids per item waiting in the process for their turn; past it, Busy at once. */
export const QUEUED_PER_ITEM = 1_000;

interface ItemLine {
  inFlight: number;
  queue: Array<() => void>;
}
const lines = new WeakMap<Db, Map<string, ItemLine>>();

/**
 * Waits for one of the item's places (IN_FLIGHT_PER_ITEM of them, per pool) and returns the
 * function that gives it back. Bids wait in order of arrival, each for at most lock_timeout
 * (then Busy, as a wait for the row lock would end) and never past the caller's deadline
 * (DeadlineExceeded); a queue already QUEUED_PER_ITEM long answers Busy at once.
 */
export async function takeTurn(db: Db, itemId: string, limits: { lockTimeoutMs: number; deadline?: number }): Promise<() => void> {
  // #region m3: admit at most two bid transactions per item, queue the rest in the process with a bound
  // Milestone 2's version admits every bid at once: each waits for the row lock on a pooled connection.
  void db;
  void itemId;
  void limits;
  return () => {};
  // #endregion
}

/**
 * Runs one bid's transaction through the item's admission: a bid a committed highest bid
 * already beats is refused before it queues, and again when its turn comes (a bid ahead of it
 * may have raised the price meanwhile); only then does it take its place and run the locked
 * transaction. What the transaction commits, or reads under the lock as it refuses, is
 * remembered as the item's known highest bid.
 */
export async function admitBid(
  deps: { db: Db; config: { bidding: BidRules & BidTransactionConfig } },
  bid: NewBid,
  rules: BidRules,
  call: BidCall,
  transaction: () => Promise<Bid>,
): Promise<Bid> {
  try {
    return await admitted(deps, bid, rules, call, transaction);
  } catch (err) {
    // A replay recognized before the transaction (refuseIfKnownTooLow): its original answer, as runBidTransaction gives it.
    if (err instanceof ReplayedRequest) return err.original;
    throw err;
  }
}

async function admitted(
  deps: { db: Db; config: { bidding: BidTransactionConfig } },
  bid: NewBid,
  rules: BidRules,
  call: BidCall,
  transaction: () => Promise<Bid>,
): Promise<Bid> {
  const { db } = deps;
  await refuseIfKnownTooLow(db, bid, rules);
  const limits = { lockTimeoutMs: deps.config.bidding.lockTimeoutMs, ...(call.deadline === undefined ? {} : { deadline: call.deadline }) };
  let release = await turnUnlessBeaten(db, bid, rules, limits);
  const minimum = knownMinimum(db, bid.itemId, rules.minIncrementCents);
  if (minimum !== undefined && bid.amountCents < minimum) {
    // Beaten while it queued: give the place to the next bid before asking the database why.
    release();
    await refuseIfKnownTooLow(db, bid, rules);
    // Not refused (the refusal is not written yet, or the price fell, which bids cannot do):
    // queue once more and let the locked check decide.
    release = await takeTurn(db, bid.itemId, limits);
  }
  try {
    const placed = await transaction();
    knowHighest(db, bid.itemId, placed.amountCents);
    return placed;
  } catch (err) {
    if (err instanceof BidTooLow) knowHighest(db, bid.itemId, err.currentCents);
    throw err;
  } finally {
    release();
  }
}

/**
 * Waits for the bid's turn, and refuses it as soon as a bid committed meanwhile beats it: in a
 * stampede most queued bids are beaten long before their turn, and each would otherwise wait
 * for every transaction ahead of it only to be refused (the too-low latency bench stampede
 * measures). The place it gave up passes on to the next bid when it comes.
 */
async function turnUnlessBeaten(db: Db, bid: NewBid, rules: BidRules, limits: { lockTimeoutMs: number; deadline?: number }): Promise<() => void> {
  const turn = takeTurn(db, bid.itemId, limits);
  for (;;) {
    const { raised, cancel } = whenRaised(db, bid.itemId);
    const first = await Promise.race([turn.then(() => 'turn' as const), raised.then(() => 'raised' as const)]).finally(cancel);
    if (first === 'turn') return turn;
    const minimum = knownMinimum(db, bid.itemId, rules.minIncrementCents);
    if (minimum === undefined || bid.amountCents >= minimum) continue;
    turn.then(
      (release) => release(),
      () => undefined,
    );
    await refuseIfKnownTooLow(db, bid, rules);
    // Not refused (the database disagrees with what was known, which rising prices rule out): queue again.
    return takeTurn(db, bid.itemId, limits);
  }
}
