-- Milestone 5, phase 1 (expand): bids gains the bidder as text beside user_id. Nothing is
-- rewritten and nothing is removed, so the version still writing only user_id keeps working:
-- a trigger fills the new column for it. The backfill (npm run backfill) fills the old rows.

-- Up Migration
-- #region m5: add the nullable bidder_id, a trigger that keeps both columns filled, and the backfill's checkpoint
-- TODO(m5): bids.bidder_id, the trigger bids_fill_bidder, backfill_checkpoints (milestones/05-expand-contract/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m5: undo the expand migration
-- TODO(m5): undo the up migration.
-- #endregion
