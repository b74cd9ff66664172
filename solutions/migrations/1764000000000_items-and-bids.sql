-- Items up for auction and the bids on them. Money is BIGINT minor units (cents), never
-- float or numeric-as-JS-number. "end_at in the future" is the app's check, not a CHECK:
-- a CHECK on now() would fail when a backup is restored after the auction ended.

-- Up Migration
-- #region m1: create the items and bids tables with their CHECK constraints
CREATE TABLE items (
  id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  title             text        NOT NULL CONSTRAINT items_title_not_blank CHECK (btrim(title) <> ''),
  description       text        NOT NULL DEFAULT '',
  start_price_cents bigint      NOT NULL CONSTRAINT items_start_price_positive CHECK (start_price_cents > 0),
  start_at          timestamptz NOT NULL DEFAULT now(),
  end_at            timestamptz NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT items_end_after_start CHECK (end_at > start_at)
);

-- Serves the keyset pagination of listItems: ORDER BY created_at, id.
CREATE INDEX items_created_at_id_idx ON items (created_at, id);

CREATE TABLE bids (
  id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  item_id      uuid        NOT NULL REFERENCES items (id),
  user_id      uuid        NOT NULL,
  amount_cents bigint      NOT NULL CONSTRAINT bids_amount_positive CHECK (amount_cents > 0),
  placed_at    timestamptz NOT NULL DEFAULT now()
);

-- A foreign key gets no index by itself; every "bids of this item" query needs one.
CREATE INDEX bids_item_id_placed_at_idx ON bids (item_id, placed_at);
-- #stub
-- -- TODO(m1): create the items and bids tables (milestones/01-foundation/README.md, step 2).
-- #endregion

-- Down Migration
-- #region m1: undo the up migration
DROP TABLE bids;
DROP TABLE items;
-- #stub
-- -- TODO(m1): drop what the up migration created, in the right order.
-- #endregion
