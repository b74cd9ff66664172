-- Milestone 4: an auction is closed once, by the closer; each user's stats are kept by a
-- consumer that remembers which messages it has already applied.

-- Up Migration
-- #region m4: the item's close, the stats per user, and the messages each consumer applied
-- TODO(m4): items.status, winner_id, final_price_cents, closed_at; user_stats; processed_messages; the retention job's two indexes (milestones/04-idempotent-stats/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m4: undo the closing-and-stats migration
-- TODO(m4): undo the up migration.
-- #endregion
