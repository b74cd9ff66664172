-- Milestone 5, phase 5 (contract): once no running version reads or writes user_id (every
-- one runs with BIDDER_PHASE=bidder-id), drop it, its unique constraint with it, and the
-- trigger and checkpoint that only the rollout needed.

-- Up Migration
-- #region m5: drop the trigger, the checkpoints and user_id
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
DROP TRIGGER bids_fill_bidder ON bids;
DROP FUNCTION bids_fill_bidder();
-- squawk-ignore ban-drop-table
DROP TABLE backfill_checkpoints;
-- No version reads it any more: that was the switch phase. Drops bids_user_request_unique too.
-- squawk-ignore ban-drop-column
ALTER TABLE bids DROP COLUMN user_id;
-- #stub
-- -- TODO(m5): drop the trigger and its function, backfill_checkpoints and bids.user_id (milestones/05-expand-contract/README.md, step 5).
-- #endregion

-- Down Migration
-- #region m5: undo the contract migration
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5min';
ALTER TABLE bids ADD COLUMN user_id uuid;
-- Undoing a contract is a restore in a maintenance window, not a step taken under load: it
-- rewrites every row and holds the table while it does (hence the squawk-ignore lines).
UPDATE bids SET user_id = bidder_id::uuid;
-- squawk-ignore adding-not-nullable-field
ALTER TABLE bids ALTER COLUMN user_id SET NOT NULL;
-- squawk-ignore constraint-missing-not-valid, disallowed-unique-constraint
ALTER TABLE bids ADD CONSTRAINT bids_user_request_unique UNIQUE (user_id, request_id);
CREATE TABLE backfill_checkpoints (
  name        text        PRIMARY KEY,
  last_id     uuid        NOT NULL,
  rows_filled bigint      NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
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
-- #stub
-- -- TODO(m5): undo the up migration.
-- #endregion
