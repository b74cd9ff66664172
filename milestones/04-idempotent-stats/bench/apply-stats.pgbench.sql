-- A ceiling for `npm run bench -- consumer`: the stats consumer's effect for one BidPlaced,
-- written in SQL, one transaction per message: record the message id, add the bid to the
-- bidder's stats. The benchmark runs it with pgbench at the consumer's concurrency (its pool).
-- Rerun by hand against a database migrated to milestone 4:
--   pgbench -n -c 10 -j 2 -T 8 -D users=100 -f milestones/04-idempotent-stats/bench/apply-stats.pgbench.sql "$DATABASE_URL"
\set u random(1, :users)
BEGIN;
INSERT INTO processed_messages (consumer, message_id) VALUES ('pgbench', gen_random_uuid()) ON CONFLICT DO NOTHING;
INSERT INTO user_stats (user_id, bids_placed)
VALUES (('00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 1)
ON CONFLICT (user_id) DO UPDATE SET bids_placed = user_stats.bids_placed + 1;
COMMIT;
