-- Milestone 3: the item remembers its highest bid and leader, so the rules can be checked
-- under the item's row lock; a bidder's request id makes a retried request safe.

-- Up Migration
-- #region m3: the item's highest bid and leader, and one bid per bidder request id
-- TODO(m3): items.highest_bid_cents and leader_id, bids.request_id (milestones/03-row-locking/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m3: undo the bid-rules migration
-- TODO(m3): undo the up migration.
-- #endregion
