-- Milestone 5, phase 5 (contract): once no running version reads or writes user_id (every
-- one runs with BIDDER_PHASE=bidder-id), drop it, its unique constraint with it, and the
-- trigger and checkpoint that only the rollout needed.

-- Up Migration
-- #region m5: drop the trigger, the checkpoints and user_id
-- TODO(m5): drop the trigger and its function, backfill_checkpoints and bids.user_id (milestones/05-expand-contract/README.md, step 5).
-- #endregion

-- Down Migration
-- #region m5: undo the contract migration
-- TODO(m5): undo the up migration.
-- #endregion
