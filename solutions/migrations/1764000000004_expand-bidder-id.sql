-- Milestone 5, phase 1 (expand): bids gains the bidder as text beside user_id. Nothing is
-- rewritten and nothing is removed, so the version still writing only user_id keeps working:
-- a trigger fills the new column for it. The backfill (npm run backfill) fills the old rows.

-- Up Migration
-- #region m5: add the nullable bidder_id, a trigger that keeps both columns filled, and the backfill's checkpoint
-- Give up after 2 s instead of queueing every bid behind this ALTER (the runner retries).
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- Nullable and without a default: a catalog change only, no table rewrite.
ALTER TABLE bids ADD COLUMN bidder_id text;
-- Old versions write only user_id, the last version only bidder_id: each gets the other filled.
CREATE FUNCTION bids_fill_bidder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.bidder_id IS NULL THEN
    NEW.bidder_id := NEW.user_id::text;
  ELSIF NEW.user_id IS NULL THEN
    NEW.user_id := NEW.bidder_id::uuid;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER bids_fill_bidder BEFORE INSERT ON bids FOR EACH ROW EXECUTE FUNCTION bids_fill_bidder();
-- Where a backfill got to, written in the same transaction as each batch it fills.
CREATE TABLE backfill_checkpoints (
  name        text        PRIMARY KEY,
  last_id     uuid        NOT NULL,
  rows_filled bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- #stub
-- -- TODO(m5): bids.bidder_id, the trigger bids_fill_bidder, backfill_checkpoints (milestones/05-expand-contract/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m5: undo the expand migration
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
-- squawk-ignore ban-drop-table
DROP TABLE backfill_checkpoints;
DROP TRIGGER bids_fill_bidder ON bids;
DROP FUNCTION bids_fill_bidder();
-- squawk-ignore ban-drop-column
ALTER TABLE bids DROP COLUMN bidder_id;
-- #stub
-- -- TODO(m5): undo the up migration.
-- #endregion
