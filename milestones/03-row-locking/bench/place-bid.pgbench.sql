-- The ceiling for `npm run bench -- bids`: placeBid's transaction written in SQL, run by
-- pgbench against the same database. Rerun by hand:
--   pgbench -n -c 8 -j 2 -T 10 -D nitems=1 -f milestones/03-row-locking/bench/place-bid.pgbench.sql "$DATABASE_URL"
-- (bench_items maps 1..N to item ids; the benchmark creates it.)
\set n random(1, :nitems)
BEGIN;
SELECT i.start_price_cents, i.highest_bid_cents, i.end_at <= now() AS ended
  FROM items i JOIN bench_items b ON b.id = i.id WHERE b.n = :n FOR UPDATE OF i;
UPDATE items i
   SET highest_bid_cents = coalesce(i.highest_bid_cents, i.start_price_cents) + 1, leader_id = gen_random_uuid(), last_sequence = i.last_sequence + 1
  FROM bench_items b WHERE b.id = i.id AND b.n = :n
RETURNING i.last_sequence;
INSERT INTO bids (item_id, user_id, amount_cents, sequence)
SELECT i.id, i.leader_id, i.highest_bid_cents, i.last_sequence FROM items i JOIN bench_items b ON b.id = i.id WHERE b.n = :n;
INSERT INTO outbox (aggregate_type, aggregate_id, event_type, routing_key, payload, headers)
SELECT 'item', b.id, 'auction.events.v1.BidPlaced', 'bid.placed', decode(repeat('ab', 120), 'hex'), '{"x-correlation-id":"pgbench"}'::jsonb FROM bench_items b WHERE b.n = :n;
SELECT pg_notify('auction_outbox', '');
COMMIT;
