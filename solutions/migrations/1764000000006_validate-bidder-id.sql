-- Milestone 5, phase 3 (constrain), step 2: check the old rows, then make the column NOT NULL.
-- VALIDATE reads the whole table holding only a SHARE UPDATE EXCLUSIVE lock (bids go on);
-- SET NOT NULL then finds the valid check and skips its own scan under ACCESS EXCLUSIVE.

-- Up Migration
-- #region m5: validate the check, SET NOT NULL on its strength, drop the check
SET LOCAL lock_timeout = '2s';
-- The scan of a million rows needs more than a catalog change does.
SET LOCAL statement_timeout = '5min';
ALTER TABLE bids VALIDATE CONSTRAINT bids_bidder_id_not_null;
ALTER TABLE bids ALTER COLUMN bidder_id SET NOT NULL;
ALTER TABLE bids DROP CONSTRAINT bids_bidder_id_not_null;
-- #stub
-- -- TODO(m5): VALIDATE CONSTRAINT, SET NOT NULL, drop the check (milestones/05-expand-contract/README.md, step 3).
-- #endregion

-- Down Migration
-- #region m5: undo the validate migration
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE bids ADD CONSTRAINT bids_bidder_id_not_null CHECK (bidder_id IS NOT NULL) NOT VALID;
-- Back to the phase before: the check promises it, the column does not.
-- squawk-ignore ban-drop-not-null
ALTER TABLE bids ALTER COLUMN bidder_id DROP NOT NULL;
-- #stub
-- -- TODO(m5): undo the up migration.
-- #endregion
