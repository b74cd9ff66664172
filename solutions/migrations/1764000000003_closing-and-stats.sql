-- Milestone 4: an auction is closed once, by the closer; each user's stats are kept by a
-- consumer that remembers which messages it has already applied.

-- Up Migration
-- #region m4: the item's close, the stats per user, and the messages each consumer applied
ALTER TABLE items ADD COLUMN status text NOT NULL DEFAULT 'open' CONSTRAINT items_status_known CHECK (status IN ('open', 'closed'));
ALTER TABLE items ADD COLUMN winner_id uuid;
ALTER TABLE items ADD COLUMN final_price_cents bigint;
ALTER TABLE items ADD COLUMN closed_at timestamptz;
ALTER TABLE items ADD CONSTRAINT items_closed_has_time CHECK ((status = 'closed') = (closed_at IS NOT NULL));
-- The closer's claim query: open items by end, and nothing else.
CREATE INDEX items_open_by_end ON items (end_at) WHERE status = 'open';

CREATE TABLE user_stats (
  user_id uuid PRIMARY KEY,
  bids_placed bigint NOT NULL DEFAULT 0 CONSTRAINT user_stats_bids_placed_not_negative CHECK (bids_placed >= 0),
  auctions_won bigint NOT NULL DEFAULT 0 CONSTRAINT user_stats_auctions_won_not_negative CHECK (auctions_won >= 0),
  total_spent_cents bigint NOT NULL DEFAULT 0 CONSTRAINT user_stats_total_spent_not_negative CHECK (total_spent_cents >= 0)
);

-- One row per (consumer, message): the primary key is what refuses a second application.
CREATE TABLE processed_messages (
  consumer text NOT NULL,
  message_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
-- The retention job deletes the oldest ids, a batch at a time: without this index every batch
-- would scan the whole table, past the dead rows of the batches before it.
CREATE INDEX processed_messages_by_time ON processed_messages (processed_at);
-- The same for the published outbox rows. Marking a row already writes a new entry in every
-- index of the table (published_at is in the pending index's predicate, so the update is never
-- HOT): this one adds one more, and only for published rows.
CREATE INDEX outbox_published_by_time ON outbox (published_at) WHERE published_at IS NOT NULL;
-- #stub
-- -- TODO(m4): items.status, winner_id, final_price_cents, closed_at; user_stats; processed_messages; the retention job's two indexes (milestones/04-idempotent-stats/README.md, step 1).
-- #endregion

-- Down Migration
-- #region m4: undo the closing-and-stats migration
DROP INDEX outbox_published_by_time;
DROP TABLE processed_messages;
DROP TABLE user_stats;
DROP INDEX items_open_by_end;
ALTER TABLE items DROP CONSTRAINT items_closed_has_time;
ALTER TABLE items DROP COLUMN closed_at;
ALTER TABLE items DROP COLUMN final_price_cents;
ALTER TABLE items DROP COLUMN winner_id;
ALTER TABLE items DROP COLUMN status;
-- #stub
-- -- TODO(m4): undo the up migration.
-- #endregion
