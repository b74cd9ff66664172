-- Milestone 3: the item remembers its highest bid and leader, so the rules can be checked
-- under the item's row lock; a bidder's request id makes a retried request safe.

-- Up Migration
-- #region m3: the item's highest bid and leader, and one bid per bidder request id
ALTER TABLE items ADD COLUMN highest_bid_cents bigint CONSTRAINT items_highest_bid_positive CHECK (highest_bid_cents > 0);
ALTER TABLE items ADD COLUMN leader_id uuid;
ALTER TABLE bids ADD COLUMN request_id text;
-- The constraint, not a read-then-check, is what makes a retried request safe under races.
ALTER TABLE bids ADD CONSTRAINT bids_user_request_unique UNIQUE (user_id, request_id);
-- #stub
-- -- TODO(m3): items.highest_bid_cents and leader_id, bids.request_id (milestones/03-row-locking/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m3: undo the bid-rules migration
ALTER TABLE bids DROP CONSTRAINT bids_user_request_unique;
ALTER TABLE bids DROP COLUMN request_id;
ALTER TABLE items DROP COLUMN leader_id;
ALTER TABLE items DROP COLUMN highest_bid_cents;
-- #stub
-- -- TODO(m3): undo the up migration.
-- #endregion
