-- migrate: no-transaction
-- Milestone 5, phase 3 (constrain), step 3: the unique index the replay check of the new
-- version reads, built CONCURRENTLY (bids go on; it cannot run inside a transaction, so
-- each statement below commits on its own).
-- A build that fails (a duplicate, a cancel, a lock timeout) leaves an INVALID index behind
-- that enforces nothing and slows every insert; this migration was not recorded then, so an
-- index of this name found now is such a leftover: it is dropped and built again.

-- Up Migration
-- #region m5: drop a leftover of a failed build, then build the unique index concurrently
-- TODO(m5): the unique index bids_bidder_request_unique, CONCURRENTLY (milestones/05-expand-contract/README.md, step 3).
-- #endregion

-- Down Migration
-- #region m5: undo the index migration
-- TODO(m5): undo the up migration.
-- #endregion
