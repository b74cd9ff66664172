-- Milestone 2: the transactional outbox. An event is a row written in the same transaction
-- as the change it describes; a relay publishes committed rows to RabbitMQ and marks them.

-- Up Migration
-- #region m2: per-item sequence numbers and the outbox table with the index its claim query needs
ALTER TABLE items ADD COLUMN last_sequence bigint NOT NULL DEFAULT 0;
ALTER TABLE bids ADD COLUMN sequence bigint;
ALTER TABLE bids ADD CONSTRAINT bids_item_sequence_unique UNIQUE (item_id, sequence);

CREATE TABLE outbox (
  -- The AMQP message id: consumers deduplicate on it (milestone 4).
  id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Insert order. Claims follow it; it is not a cursor (rows commit out of this order).
  position       bigint      GENERATED ALWAYS AS IDENTITY,
  aggregate_type text        NOT NULL,
  aggregate_id   uuid        NOT NULL,
  event_type     text        NOT NULL,
  routing_key    text        NOT NULL,
  payload        bytea       NOT NULL,
  headers        jsonb       NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at   timestamptz,
  -- A row the relay cannot publish (malformed, oversize) is set aside here, not retried forever.
  failed_at      timestamptz,
  last_error     text
);

-- The claim reads only pending rows, in position order: a partial index stays small however
-- many published rows pile up.
CREATE INDEX outbox_pending_idx ON outbox (position) WHERE published_at IS NULL AND failed_at IS NULL;
-- #stub
-- -- TODO(m2): the outbox table (milestones/02-outbox/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m2: undo the outbox migration
DROP TABLE outbox;
ALTER TABLE bids DROP CONSTRAINT bids_item_sequence_unique;
ALTER TABLE bids DROP COLUMN sequence;
ALTER TABLE items DROP COLUMN last_sequence;
-- #stub
-- -- TODO(m2): undo the up migration.
-- #endregion
