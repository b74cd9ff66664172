-- The ceiling for `npm run bench -- bids`: placeBid's transaction written in SQL, run by
-- pgbench against the same database, rules included: lock the item, refuse an amount below
-- the highest bid + 1, else record the bid and its outbox row. No NOTIFY: placeBid wakes the
-- relay after its COMMIT, outside the transaction (outbox/wake-relay.ts). Amounts come from one shared
-- rising sequence, as the Node.js clients' do, so both sides see the same reordering.
-- The bidder column follows the schema: bidder=user_id bidder_type=uuid before milestone 5's
-- contract migration, bidder=bidder_id bidder_type=text after (the benchmark looks it up).
-- Rerun by hand (the benchmark creates bench_items and bench_amounts):
--   pgbench -n -c 8 -j 2 -T 8 -D nitems=1 -D bidder=bidder_id -D bidder_type=text -f milestones/03-row-locking/bench/place-bid.pgbench.sql "$DATABASE_URL"
\set n random(1, :nitems)
SELECT nextval('bench_amounts') * 1000 AS amount \gset
BEGIN;
SELECT i.start_price_cents, i.highest_bid_cents, i.end_at <= now() AS ended
  FROM items i JOIN bench_items b ON b.id = i.id WHERE b.n = :n FOR UPDATE OF i;
WITH item AS (
  UPDATE items i
     SET highest_bid_cents = :amount, leader_id = gen_random_uuid(), last_sequence = i.last_sequence + 1
    FROM bench_items b
   WHERE b.id = i.id AND b.n = :n AND i.end_at > now() AND :amount >= coalesce(i.highest_bid_cents + 1, i.start_price_cents)
RETURNING i.id, i.leader_id, i.last_sequence
), bid AS (
  INSERT INTO bids (item_id, :bidder, amount_cents, sequence)
  SELECT id, CAST(leader_id AS :bidder_type), :amount, last_sequence FROM item
  RETURNING item_id
)
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload, headers)
SELECT 'item', item_id, 'auction.events.v1.BidPlaced', 'bid.placed', decode(repeat('ab', 120), 'hex'), '{"x-correlation-id":"pgbench"}'::jsonb FROM bid;
COMMIT;
