import type { BidderPhase } from '#runtime/config.ts';

/**
 * How one app version names the bidder in SQL on bids. Milestone 5 moves the bidder from
 * bids.user_id (uuid) to bids.bidder_id (text) while old and new versions run side by side;
 * every query on bids takes its bidder columns from here, so one setting (BIDDER_PHASE)
 * switches them all.
 */
export interface BidderColumns {
  /** The column list an INSERT INTO bids names for the bidder: "user_id", "user_id, bidder_id"… */
  insert: string;
  /** The values for those columns, given the parameter holding the bidder's id ("$2"). */
  values(param: string): string;
  /** The column the bidder is read from (selected as user_id, the name the app's rows use). */
  read: string;
  /** The condition that finds a bidder's rows, given the parameter holding the bidder's id. */
  matches(param: string): string;
}

/** The old version, before milestone 5: user_id only. */
export const userIdOnly: BidderColumns = {
  insert: 'user_id',
  values: (p) => `${p}::uuid`,
  read: 'user_id',
  matches: (p) => `user_id = ${p}::uuid`,
};

export function bidderColumns(phase: BidderPhase): BidderColumns {
  // #region m5: the bidder columns each rollout phase writes and reads
  // Before milestone 5 every version is the old one, whatever BIDDER_PHASE says.
  void phase;
  return userIdOnly;
  // #endregion
}
