-- Milestone 5, phase 3 (constrain), step 1: promise that bidder_id is never NULL, checked for
-- new rows from now on (NOT VALID) but without reading the million old ones under this lock.

-- Up Migration
-- #region m5: a NOT VALID check that bidder_id is filled
-- TODO(m5): the check bids_bidder_id_not_null, NOT VALID (milestones/05-expand-contract/README.md, step 3).
-- #endregion

-- Down Migration
-- #region m5: undo the check migration
-- TODO(m5): undo the up migration.
-- #endregion
