-- migrate: no-transaction
-- Milestone 5, phase 3 (constrain), step 3: the unique index the replay check of the new
-- version reads, built CONCURRENTLY (bids go on; it cannot run inside a transaction, so
-- each statement below commits on its own).
-- A build that fails leaves an INVALID index behind. Failed in its first scan (a duplicate
-- already there) it is not ready: neither maintained nor enforcing. Failed after it became
-- ready (a cancel, a lock timeout in the final wait for older snapshots) it is maintained and
-- still enforces uniqueness, unused by the planner (PostgreSQL, CREATE INDEX, "Building Indexes
-- Concurrently"). This migration was not recorded then, so an index of this name found now is
-- such a leftover: it is dropped and built again.
-- The 2 s lock_timeout also bounds that final wait: any transaction older than the second scan,
-- on any table, makes the build fail with 55P03 (the runner retries it). Bids are not blocked
-- by the build either way; the timeout only bounds how long the migration waits.

-- Up Migration
-- #region m5: drop a leftover of a failed build, then build the unique index concurrently
SET lock_timeout = '2s';
SET statement_timeout = 0;
DROP INDEX CONCURRENTLY IF EXISTS bids_bidder_request_unique;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS bids_bidder_request_unique ON bids (bidder_id, request_id);
-- #stub
-- -- TODO(m5): the unique index bids_bidder_request_unique, CONCURRENTLY (milestones/05-expand-contract/README.md, step 3).
-- #endregion

-- Down Migration
-- #region m5: undo the index migration
SET lock_timeout = '2s';
DROP INDEX CONCURRENTLY IF EXISTS bids_bidder_request_unique;
-- #stub
-- -- TODO(m5): undo the up migration.
-- #endregion
