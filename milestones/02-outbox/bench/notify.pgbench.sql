-- The script of `npm run bench -- notify`: a small write transaction, as a bid's is, with a
-- NOTIFY nowhere (-D inside=0 -D after=0), inside the transaction before its COMMIT (inside=1),
-- or after the COMMIT in a transaction of its own, as wakeRelay sends it (after=1). The
-- benchmark creates bench_rows (1,000 rows). Rerun by hand:
--   pgbench -n -c 32 -j 2 -T 6 -D inside=1 -D after=0 -f milestones/02-outbox/bench/notify.pgbench.sql "$DATABASE_URL"
\set id random(1, 1000)
BEGIN;
UPDATE bench_rows SET v = v + 1 WHERE id = :id;
\if :inside
SELECT pg_notify('bench_notify', '');
\endif
COMMIT;
\if :after
SELECT pg_notify('bench_notify', '');
\endif
