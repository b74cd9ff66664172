-- Items up for auction and the bids on them. Money is BIGINT minor units (cents), never
-- float or numeric-as-JS-number. "end_at in the future" is the app's check, not a CHECK:
-- a CHECK on now() would fail when a backup is restored after the auction ended.

-- Up Migration
-- #region m1: create the items and bids tables with their CHECK constraints
-- TODO(m1): create the items and bids tables (milestones/01-foundation/README.md, step 2).
-- #endregion

-- Down Migration
-- #region m1: undo the up migration
-- TODO(m1): drop what the up migration created, in the right order.
-- #endregion
