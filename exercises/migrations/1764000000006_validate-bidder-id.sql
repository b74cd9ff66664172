-- Milestone 5, phase 3 (constrain), step 2: check the old rows, then make the column NOT NULL.
-- VALIDATE reads the whole table holding only a SHARE UPDATE EXCLUSIVE lock (bids go on);
-- SET NOT NULL then finds the valid check and skips its own scan under ACCESS EXCLUSIVE.

-- Up Migration
-- #region m5: validate the check, SET NOT NULL on its strength, drop the check
-- TODO(m5): VALIDATE CONSTRAINT, SET NOT NULL, drop the check (milestones/05-expand-contract/README.md, step 3).
-- #endregion

-- Down Migration
-- #region m5: undo the validate migration
-- TODO(m5): undo the up migration.
-- #endregion
